//go:build windows

package evidence

import (
	"golang.org/x/sys/windows/registry"
)

// exchangeSetupKey holds the Exchange 2013/2016/2019 install path.
const exchangeSetupKey = `SOFTWARE\Microsoft\ExchangeServer\v15\Setup`

// registryInstallPath reads MsiInstallPath from the live registry (the way
// Test-ProxyLogon finds an Exchange installed on another drive).
func registryInstallPath() (string, error) {
	k, err := registry.OpenKey(registry.LOCAL_MACHINE, exchangeSetupKey, registry.QUERY_VALUE|registry.WOW64_64KEY)
	if err != nil {
		return "", err
	}
	defer k.Close()
	v, _, err := k.GetStringValue("MsiInstallPath")
	if err != nil {
		return "", err
	}
	return v, nil
}
