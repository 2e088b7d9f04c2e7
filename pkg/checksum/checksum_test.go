package checksum

import (
	"strings"
	"testing"
)

func TestIsSHA256(t *testing.T) {
	good := strings.Repeat("0a", 32)
	for s, want := range map[string]bool{
		good: true, strings.ToUpper(good): false, good[:63]: false, good + "0": false,
		strings.Repeat("g", 64): false, "": false,
	} {
		if IsSHA256(s) != want {
			t.Errorf("IsSHA256(%q) != %v", s, want)
		}
	}
	if Normalize("  "+strings.ToUpper(good)+"\n") != good {
		t.Error("Normalize")
	}
}
