package retry

import (
	"context"
	"errors"
	"testing"
	"time"
)

var errTemp, errConfig = errors.New("temporary"), errors.New("wrong region")

func fast(retries int) Policy {
	return Policy{Retries: retries, Base: time.Millisecond, Max: 4 * time.Millisecond,
		Retryable: func(err error) bool { return !errors.Is(err, errConfig) }}
}

func TestDelay(t *testing.T) {
	p := Policy{Base: 100 * time.Millisecond, Max: time.Second, Jitter: -1}
	for n, want := range map[int]time.Duration{1: 100 * time.Millisecond, 2: 200 * time.Millisecond, 4: 800 * time.Millisecond, 5: time.Second, 40: time.Second} {
		if got := p.Delay(n); got != want {
			t.Errorf("Delay(%d) = %s, want %s", n, got, want)
		}
	}
	p.Jitter = 0.25
	for range 100 {
		if d := p.Delay(1); d < 75*time.Millisecond || d > 125*time.Millisecond {
			t.Fatalf("jittered delay %s outside 75-125 ms", d)
		}
	}
	if d := (Policy{}).Delay(1); d < DefaultBase*3/4 || d > DefaultBase*5/4 {
		t.Fatalf("default delay %s", d)
	}
}

func TestDo(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name             string
		retries, failFor int
		err              error
		calls            int
		ok               bool
	}{
		{"success", 3, 0, errTemp, 1, true},
		{"recovers", 3, 2, errTemp, 3, true},
		{"retries spent", 2, 10, errTemp, 3, false},
		{"no retries", 0, 10, errTemp, 1, false},
		{"configuration error: never retried", 5, 10, errConfig, 1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			calls, retried := 0, 0
			p := fast(tc.retries)
			p.OnRetry = func(int, error) { retried++ }
			err := p.Do(ctx, func() error {
				calls++
				if calls <= tc.failFor {
					return tc.err
				}
				return nil
			})
			if calls != tc.calls || (err == nil) != tc.ok || retried != calls-1 {
				t.Fatalf("calls %d (want %d), retries counted %d, err %v", calls, tc.calls, retried, err)
			}
			if err != nil && (!errors.Is(err, tc.err) || !GaveUp(err) || err.Error() != tc.err.Error()) {
				t.Fatalf("error %v: not the operation's, or not marked", err)
			}
		})
	}
}

// An operation whose inner requests had their retries is not retried
// again by an outer loop: attempts add up, they do not multiply.
func TestNestedRetriesDoNotMultiply(t *testing.T) {
	inner := 0
	err := fast(3).Do(context.Background(), func() error {
		return fast(2).Do(context.Background(), func() error { inner++; return errTemp })
	})
	if inner != 3 || !errors.Is(err, errTemp) {
		t.Fatalf("inner tried %d times (want 3), %v", inner, err)
	}
}

func TestAttemptsResetAfterProgress(t *testing.T) {
	a := fast(1).Start()
	ctx := context.Background()
	if !a.Wait(ctx, errTemp) || a.Failed() != 1 || a.Wait(ctx, errTemp) {
		t.Fatal("one retry allowed")
	}
	a.Reset()
	if !a.Wait(ctx, errTemp) {
		t.Fatal("no retry after progress")
	}
}

func TestCancelledContextEndsWaits(t *testing.T) {
	ctx, cancel := context.WithCancelCause(context.Background())
	cause := errors.New("stopped")
	cancel(cause)
	if err := Sleep(ctx, time.Hour); !errors.Is(err, cause) {
		t.Fatalf("Sleep: %v", err)
	}
	if (Policy{Retries: 5}).Start().Wait(ctx, errTemp) {
		t.Fatal("Wait retries after cancellation")
	}
	calls := 0
	if err := (Policy{Retries: 5}).Do(ctx, func() error { calls++; return nil }); !errors.Is(err, cause) || calls != 0 {
		t.Fatalf("Do after cancellation: %v, %d calls", err, calls)
	}
}
