package sample

import (
	"math/rand/v2"
	"strings"
	"time"
)

// Tree names.
const (
	Compromised = "compromised-ex2016"
	Clean       = "clean-ex2016"
	Scanner     = "scanner-ex2016"
)

// Where a copied triage tree of a Windows Exchange server keeps its logs:
// IIS on the system drive, Exchange installed on D:.
const (
	iisDir      = "C/inetpub/logs/LogFiles/"
	exLogging   = "D/Exchange Server/V15/Logging/"
	proxyDir    = exLogging + "HttpProxy/"
	ecpDir      = exLogging + "ECP/Server/"
	oabDir      = exLogging + "OABGeneratorLog/"
	rpsDir      = exLogging + "CmdletInfra/Powershell-Proxy/Http/"
	appHostPath = "C/Windows/System32/inetsrv/config/applicationHost.config"
	// InstallPath is the Exchange install path of both sample servers,
	// as MsiInstallPath would give it.
	InstallPath = `D:\Exchange Server\V15\`
)

// server is one Exchange 2016 server with its users.
type server struct {
	name    string // NetBIOS host name
	fqdn    string
	domain  string // NetBIOS domain
	dns     string // mail domain
	ext     string // external host name
	ip      string // s-ip
	version string // HttpProxy #Version, e.g. 15.01.2106.002
	major   int
	minor   int
	build   int
	rev     int
	dbs     []string
	users   []user
	health  []string // HealthMailbox names
	admins  []int    // indexes into users
	sidBase string
	oabVD   string // OAB virtual directory GUID
	r       *rand.Rand
	b       *builder
}

type user struct {
	sam     string
	upn     string
	sid     string
	mbx     string // mailbox GUID
	db      int
	lanIP   string
	wanIP   string
	outlook string // desktop client UA
	phone   string // EAS UA
	devID   string
	devType string
	mac     bool
}

func (s *server) setVersion(v string) {
	s.version = v
	p := strings.Split(v, ".")
	s.major, s.minor, s.build, s.rev = atoi(p[0]), atoi(p[1]), atoi(p[2]), atoi(p[3])
}

func (s *server) bld() string { // 15.1.2106.2
	return itoa(s.major) + "." + itoa(s.minor) + "." + itoa(s.build) + "." + itoa(s.rev)
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}

var firstNames = []string{"Alex", "Bianca", "Carlos", "Dana", "Elif", "Farid", "Greta", "Hiro", "Ines", "Jonas", "Kavya", "Liam", "Mira", "Nadia", "Omar", "Petra", "Quinn", "Rosa", "Sven", "Tariq", "Uma", "Viktor", "Wen", "Yara", "Zoe", "Ana", "Ben", "Chloe", "Dmitri", "Emma", "Felix", "Hana", "Ivan", "Julia", "Kenji", "Lena", "Marco", "Nina", "Oskar", "Paula"}
var lastNames = []string{"Adams", "Berger", "Costa", "Dubois", "Eriksen", "Fischer", "Garcia", "Hansen", "Ito", "Jensen", "Klein", "Larsen", "Moreau", "Novak", "Olsen", "Petrov", "Quist", "Rossi", "Schmidt", "Tanaka", "Ulrich", "Vogel", "Weber", "Young", "Zhang", "Bauer", "Silva", "Keller", "Lopez", "Meyer"}

var outlookUAs = []string{
	"Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.13628; Pro)",
	"Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.13801; Pro)",
	"Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.5110; Pro)",
	"Microsoft Office/15.0 (Windows NT 6.1; Microsoft Outlook 15.0.5319; Pro)",
}
var macUA = "MacOutlook/16.46.21021202 (Intelx64 Mac OS X 10.15.7 (Build 19H524))"
var browserUAs = []string{
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/88.0.4324.190 Safari/537.36",
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/88.0.4324.190 Safari/537.36 Edg/88.0.705.81",
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:86.0) Gecko/20100101 Firefox/86.0",
	"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/14.0.3 Safari/605.1.15",
	"Mozilla/5.0 (Windows NT 10.0; WOW64; Trident/7.0; rv:11.0) like Gecko",
}
var phoneUAs = []struct{ ua, devType string }{
	{"Apple-iPhone12C1/1802.67", "iPhone"},
	{"Apple-iPhone11C8/1803.40", "iPhone"},
	{"Outlook-iOS-Android/1.0", "Outlook"},
	{"Android-SAMSUNG-SM-G991B/101.10", "SAMSUNGSMG991B"},
	{"Apple-iPad8C1/1802.67", "iPad"},
}

func newServer(seed uint64, name, ip, version string, nUsers int, sidBase string) *server {
	r := rand.New(rand.NewPCG(seed, 0x5eed_e8c4_2021))
	s := &server{
		name: name, fqdn: name + ".contoso.com", domain: "CONTOSO", dns: "contoso.com",
		ext: "mail.contoso.com", ip: ip, sidBase: sidBase, r: r,
	}
	s.setVersion(version)
	for i := 0; i < 3; i++ {
		s.dbs = append(s.dbs, guid(r))
	}
	s.oabVD = guid(r)
	seen := map[string]bool{}
	for len(s.users) < nUsers {
		f := firstNames[r.IntN(len(firstNames))]
		l := lastNames[r.IntN(len(lastNames))]
		sam := strings.ToLower(f[:1] + l)
		if seen[sam] {
			sam = strings.ToLower(f + "." + l)
			if seen[sam] {
				continue
			}
		}
		seen[sam] = true
		i := len(s.users)
		ph := phoneUAs[r.IntN(len(phoneUAs))]
		u := user{
			sam: sam, upn: sam + "@contoso.com",
			sid:   sidBase + "-" + itoa(1108+i*3+r.IntN(3)),
			mbx:   guid(r),
			db:    r.IntN(len(s.dbs)),
			lanIP: "10.0." + itoa(16+r.IntN(8)) + "." + itoa(20+r.IntN(200)),
			wanIP: wanIP(r),
			phone: ph.ua, devType: ph.devType,
			devID: strings.ToUpper(hexString(r, 32)),
		}
		if r.IntN(8) == 0 {
			u.mac = true
			u.outlook = macUA
		} else {
			u.outlook = outlookUAs[r.IntN(len(outlookUAs))]
		}
		s.users = append(s.users, u)
	}
	s.users[0].sam, s.users[0].upn = "administrator", "administrator@contoso.com"
	s.users[0].sid = sidBase + "-500"
	s.admins = []int{0, 1}
	for i := 0; i < 6; i++ {
		s.health = append(s.health, "HealthMailbox"+hexString(r, 32))
	}
	return s
}

// wanIP picks a home/office address in the documentation ranges.
func wanIP(r *rand.Rand) string {
	nets := []string{"192.0.2.", "198.51.100.", "203.0.113."}
	return nets[r.IntN(len(nets))] + itoa(1+r.IntN(254))
}

func (s *server) iisPath(site int, t time.Time) string {
	return iisDir + "W3SVC" + itoa(site) + "/u_ex" + string(appendDate(nil, t, 0)[2:]) + ".log"
}

func (s *server) proxyPath(proto string, t time.Time) string {
	return proxyDir + proto + "/HttpProxy_" + string(appendDate(nil, t, 0)) + string(append2(nil, t.Hour())) + "-1.LOG"
}

func (s *server) rpsPath(t time.Time) string {
	return rpsDir + "Rps_Http_" + string(appendDate(nil, t, 0)) + string(append2(nil, t.Hour())) + "-1.LOG"
}

func (s *server) ecpPath(t time.Time) string {
	return ecpDir + "ECPServer" + string(appendDate(nil, t, 0)) + "-1.LOG"
}

func (s *server) oabPath(t time.Time) string {
	return oabDir + "OABGenerator" + string(appendDate(nil, t, 0)) + "-1.LOG"
}

// applicationHost renders a minimal but realistic IIS configuration with
// the two Exchange sites and their default log directory.
func (s *server) applicationHost() File {
	ex := strings.TrimSuffix(InstallPath, `\`)
	fe := ex + `\FrontEnd\HttpProxy`
	ca := ex + `\ClientAccess`
	var b strings.Builder
	w := func(l string) { b.WriteString(l + crlf) }
	w(`<?xml version="1.0" encoding="UTF-8"?>`)
	w(`<configuration>`)
	w(`    <system.applicationHost>`)
	w(`        <applicationPools>`)
	for _, p := range []string{"DefaultAppPool", "MSExchangeOWAAppPool", "MSExchangeECPAppPool", "MSExchangeServicesAppPool", "MSExchangeAutodiscoverAppPool", "MSExchangeSyncAppPool", "MSExchangeOABAppPool", "MSExchangePowerShellFrontEndAppPool", "MSExchangePowerShellAppPool", "MSExchangeMapiFrontEndAppPool", "MSExchangeMapiMailboxAppPool", "MSExchangeMapiAddressBookAppPool", "MSExchangeRpcProxyFrontEndAppPool", "MSExchangeRpcProxyAppPool"} {
		w(`            <add name="` + p + `" managedRuntimeVersion="v4.0" />`)
	}
	w(`        </applicationPools>`)
	w(`        <log>`)
	w(`            <centralBinaryLogFile enabled="true" directory="%SystemDrive%\inetpub\logs\LogFiles" />`)
	w(`            <centralW3CLogFile enabled="true" directory="%SystemDrive%\inetpub\logs\LogFiles" />`)
	w(`        </log>`)
	w(`        <sites>`)
	w(`            <site name="Default Web Site" id="1">`)
	app := func(path, pool, phys string) {
		w(`                <application path="` + path + `" applicationPool="` + pool + `">`)
		w(`                    <virtualDirectory path="/" physicalPath="` + phys + `" />`)
		w(`                </application>`)
	}
	app("/", "MSExchangeOWAAppPool", `%SystemDrive%\inetpub\wwwroot`)
	app("/owa", "MSExchangeOWAAppPool", fe+`\owa`)
	app("/ecp", "MSExchangeECPAppPool", fe+`\ecp`)
	app("/EWS", "MSExchangeServicesAppPool", fe+`\EWS`)
	app("/Autodiscover", "MSExchangeAutodiscoverAppPool", fe+`\Autodiscover`)
	app("/Microsoft-Server-ActiveSync", "MSExchangeSyncAppPool", fe+`\sync`)
	app("/OAB", "MSExchangeOABAppPool", fe+`\OAB`)
	app("/PowerShell", "MSExchangePowerShellFrontEndAppPool", fe+`\PowerShell`)
	app("/mapi", "MSExchangeMapiFrontEndAppPool", fe+`\mapi`)
	app("/Rpc", "MSExchangeRpcProxyFrontEndAppPool", fe+`\rpc`)
	w(`                <bindings>`)
	w(`                    <binding protocol="http" bindingInformation="*:80:" />`)
	w(`                    <binding protocol="https" bindingInformation=":443:" />`)
	w(`                    <binding protocol="http" bindingInformation="127.0.0.1:80:" />`)
	w(`                    <binding protocol="https" bindingInformation="127.0.0.1:443:" />`)
	w(`                </bindings>`)
	w(`            </site>`)
	w(`            <site name="Exchange Back End" id="2" serverAutoStart="true">`)
	w(`                <application path="/">`)
	w(`                    <virtualDirectory path="/" physicalPath="` + ca + `" />`)
	w(`                </application>`)
	app("/PowerShell", "MSExchangePowerShellAppPool", ca+`\PowerShell-Proxy`)
	app("/mapi/emsmdb", "MSExchangeMapiMailboxAppPool", ca+`\mapi\emsmdb`)
	app("/mapi/nspi", "MSExchangeMapiAddressBookAppPool", ca+`\mapi\nspi`)
	app("/owa", "MSExchangeOWAAppPool", ca+`\owa`)
	app("/OAB", "MSExchangeOABAppPool", ca+`\OAB`)
	app("/ecp", "MSExchangeECPAppPool", ca+`\ecp`)
	app("/Autodiscover", "MSExchangeAutodiscoverAppPool", ca+`\Autodiscover`)
	app("/Microsoft-Server-ActiveSync", "MSExchangeSyncAppPool", ca+`\sync`)
	app("/EWS", "MSExchangeServicesAppPool", ca+`\exchweb\EWS`)
	app("/Rpc", "MSExchangeRpcProxyAppPool", `%windir%\System32\RpcProxy`)
	w(`                <bindings>`)
	w(`                    <binding protocol="http" bindingInformation="*:81:" />`)
	w(`                    <binding protocol="https" bindingInformation="*:444:" />`)
	w(`                </bindings>`)
	w(`            </site>`)
	w(`            <siteDefaults>`)
	w(`                <logFile logFormat="W3C" directory="%SystemDrive%\inetpub\logs\LogFiles" />`)
	w(`                <traceFailedRequestsLogging directory="%SystemDrive%\inetpub\logs\FailedReqLogFiles" />`)
	w(`            </siteDefaults>`)
	w(`            <applicationDefaults applicationPool="DefaultAppPool" />`)
	w(`            <virtualDirectoryDefaults allowSubDirConfig="true" />`)
	w(`        </sites>`)
	w(`    </system.applicationHost>`)
	w(`</configuration>`)
	return File{Path: appHostPath, Data: []byte(b.String())}
}
