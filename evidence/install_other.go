//go:build !windows

package evidence

import "errors"

// registryInstallPath has no registry to read outside Windows.
func registryInstallPath() (string, error) {
	return "", errors.New("Exchange install path: no registry on this OS")
}

// registryEventLogDirs has no registry to read outside Windows.
func registryEventLogDirs() ([]string, error) { return nil, nil }
