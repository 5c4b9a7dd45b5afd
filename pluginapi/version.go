package pluginapi

import (
	"fmt"
	"strconv"
	"strings"
)

// ABIVersion is the version of the contract this package describes, as
// "major.minor". A host accepts a plugin whose major version equals its own;
// minor versions only add optional fields and operations.
const ABIVersion = "1.5"

// ABIMajor is the major part of ABIVersion.
const ABIMajor = 1

// ABIMinor is the minor part of ABIVersion.
const ABIMinor = 5

// ParseABIVersion splits "major.minor" into its numbers.
func ParseABIVersion(v string) (major, minor int, err error) {
	a, b, ok := strings.Cut(v, ".")
	if !ok {
		return 0, 0, fmt.Errorf("abi version %q: want major.minor", v)
	}
	if major, err = strconv.Atoi(a); err != nil || major < 0 {
		return 0, 0, fmt.Errorf("abi version %q: bad major", v)
	}
	if minor, err = strconv.Atoi(b); err != nil || minor < 0 {
		return 0, 0, fmt.Errorf("abi version %q: bad minor", v)
	}
	return major, minor, nil
}

// CheckABIVersion reports whether a plugin declaring version v can be run by
// a host speaking ABIVersion.
func CheckABIVersion(v string) error {
	major, _, err := ParseABIVersion(v)
	if err != nil {
		return err
	}
	if major != ABIMajor {
		return fmt.Errorf("plugin speaks ABI %s but this host speaks ABI %s: rebuild the plugin against pluginapi v%d", v, ABIVersion, ABIMajor)
	}
	return nil
}

// CheckHostVersion reports whether a host speaking ABIVersion meets a
// plugin's min_host_version (empty: any host). The error names both
// versions.
func CheckHostVersion(min string) error {
	if min == "" {
		return nil
	}
	major, minor, err := ParseABIVersion(min)
	if err != nil {
		return fmt.Errorf("min_host_version: %v", err)
	}
	if major > ABIMajor || major == ABIMajor && minor > ABIMinor {
		return fmt.Errorf("plugin needs a host speaking ABI %s or newer (min_host_version) but this host speaks ABI %s: upgrade Wharf", min, ABIVersion)
	}
	return nil
}
