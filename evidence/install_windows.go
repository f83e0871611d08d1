//go:build windows

package evidence

import (
	"errors"
	"path/filepath"
	"strings"

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

// Registry keys naming event log files: the classic logs under the
// EventLog service, the other channels under WINEVT (a "File" value is
// there when the log was moved).
const (
	classicLogsKey = `SYSTEM\CurrentControlSet\Services\EventLog`
	channelsKey    = `SOFTWARE\Microsoft\Windows\CurrentVersion\WINEVT\Channels`
)

// registryEventLogDirs lists the folders the live registry puts event log
// files in (the default winevt\Logs among them), so that logs moved to
// another folder or drive are found.
func registryEventLogDirs() ([]string, error) {
	seen := map[string]bool{}
	var dirs []string
	var errs []error
	for _, parent := range []string{classicLogsKey, channelsKey} {
		k, err := registry.OpenKey(registry.LOCAL_MACHINE, parent, registry.ENUMERATE_SUB_KEYS|registry.WOW64_64KEY)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		names, err := k.ReadSubKeyNames(-1)
		k.Close()
		if err != nil {
			errs = append(errs, err)
		}
		for _, n := range names {
			sk, err := registry.OpenKey(registry.LOCAL_MACHINE, parent+`\`+n, registry.QUERY_VALUE|registry.WOW64_64KEY)
			if err != nil {
				continue
			}
			v, _, err := sk.GetStringValue("File")
			sk.Close()
			if err != nil || v == "" {
				continue
			}
			if x, err := registry.ExpandString(v); err == nil {
				v = x
			}
			d := filepath.Dir(filepath.Clean(v))
			if key := strings.ToLower(d); !seen[key] {
				seen[key] = true
				dirs = append(dirs, d)
			}
		}
	}
	return dirs, errors.Join(errs...)
}
