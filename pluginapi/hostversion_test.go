package pluginapi

import (
	"strings"
	"testing"
)

func TestCheckHostVersion(t *testing.T) {
	for _, ok := range []string{"", "1.0", "1.3", ABIVersion, "0.9"} {
		if err := CheckHostVersion(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for v, says := range map[string]string{"1.99": "ABI 1.99 or newer", "2.0": "ABI 2.0 or newer", "1.x": "min_host_version", "1": "min_host_version"} {
		err := CheckHostVersion(v)
		if err == nil || !strings.Contains(err.Error(), says) || (strings.Contains(says, "newer") && !strings.Contains(err.Error(), "speaks ABI "+ABIVersion)) {
			t.Errorf("%q: %v, want it to say %q", v, err, says)
		}
	}
	if major, minor, _ := ParseABIVersion(ABIVersion); major != ABIMajor || minor != ABIMinor {
		t.Fatalf("ABIVersion %s disagrees with ABIMajor %d and ABIMinor %d", ABIVersion, ABIMajor, ABIMinor)
	}
}
