package sim

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"time"
)

// tlsConfigs builds the fleet's TLS modes from one self-signed ECDSA key,
// made at start: "tls" (valid for a year), "expired" (ended a year ago)
// and "tls10" (TLS 1.0 only, as on old Windows Server 2012 R2 front ends).
//
// Go's server refuses TLS 1.0 and 1.1 by default since Go 1.22, but only
// when MinVersion is left zero (crypto/tls supportedVersions; GODEBUG
// tls10server=1 restores the old default). Setting MinVersion and
// MaxVersion to VersionTLS10 explicitly enables it with no GODEBUG; the
// default cipher suites still hold ECDHE-ECDSA-AES-CBC-SHA, which TLS 1.0
// needs. Clients must likewise set MinVersion: tls.VersionTLS10.
func tlsConfigs() (map[string]*tls.Config, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("sim: certificate key: %w", err)
	}
	now := time.Now()
	valid, err := selfSigned(key, 1, now.Add(-time.Hour), now.AddDate(1, 0, 0))
	if err != nil {
		return nil, err
	}
	expired, err := selfSigned(key, 2, now.AddDate(-2, 0, 0), now.AddDate(-1, 0, 0))
	if err != nil {
		return nil, err
	}
	return map[string]*tls.Config{
		"tls":     {Certificates: []tls.Certificate{valid}},
		"expired": {Certificates: []tls.Certificate{expired}},
		"tls10":   {Certificates: []tls.Certificate{valid}, MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS10},
	}, nil
}

func selfSigned(key *ecdsa.PrivateKey, serial int64, from, to time.Time) (tls.Certificate, error) {
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(serial),
		Subject:               pkix.Name{CommonName: "exchange.exhunt-sim.example", Organization: []string{"exhunt-sim"}},
		DNSNames:              []string{"exchange.exhunt-sim.example", "*.example"},
		NotBefore:             from,
		NotAfter:              to,
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("sim: certificate: %w", err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}
