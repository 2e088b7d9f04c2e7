package testbed

import (
	"net"
	"sync"
	"testing"
	"time"
)

// LatencyProxy forwards TCP connections to upstream (host:port) and delays
// every byte by oneWay in each direction, as a link between data centres
// does (round trip 2 x oneWay), without limiting throughput. It returns
// the proxy's address and stops at the test's end. Only loopback traffic.
func LatencyProxy(t testing.TB, upstream string, oneWay time.Duration) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			u, err := net.Dial("tcp", upstream)
			if err != nil {
				c.Close()
				continue
			}
			wg.Add(2)
			go func() { defer wg.Done(); delayCopy(u, c, oneWay) }()
			go func() { defer wg.Done(); delayCopy(c, u, oneWay) }()
		}
	}()
	return ln.Addr().String()
}

// delayCopy copies src to dst, each chunk written oneWay after it was read.
func delayCopy(dst, src net.Conn, oneWay time.Duration) {
	type chunk struct {
		b  []byte
		at time.Time
	}
	q := make(chan chunk, 1024)
	go func() {
		defer close(q)
		for {
			b := make([]byte, 32<<10)
			n, err := src.Read(b)
			if n > 0 {
				q <- chunk{b[:n], time.Now().Add(oneWay)}
			}
			if err != nil {
				return
			}
		}
	}()
	for c := range q {
		time.Sleep(time.Until(c.at))
		if _, err := dst.Write(c.b); err != nil {
			break
		}
	}
	// One side ended: end both, so that the other direction stops too.
	dst.Close()
	src.Close()
	for range q { // let the reader end
	}
}
