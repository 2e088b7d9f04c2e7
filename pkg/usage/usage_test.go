package usage

import (
	"errors"
	"fmt"
	"testing"
)

func TestUsage(t *testing.T) {
	base := errors.New("boom")
	if Is(base) || Is(nil) {
		t.Fatal("plain error or nil reported as usage error")
	}
	u := Errorf("bad flag --x: %w", base)
	if !Is(u) || !errors.Is(u, base) {
		t.Fatalf("Errorf lost its kind or its cause: %v", u)
	}
	if !Is(fmt.Errorf("context: %w", u)) {
		t.Fatal("wrapping hid the usage kind")
	}
	if Wrap(nil) != nil {
		t.Fatal("Wrap(nil) != nil")
	}
	if w := Wrap(base); !Is(w) || w.Error() != "boom" {
		t.Fatalf("Wrap changed the message or lost the kind: %q", w)
	}
}
