// Command latproxy is an HTTP reverse proxy that delays every request by a
// fixed time before passing it on, and can hold each client connection
// to a bandwidth, to give the mirror benchmarks (bench/mirror/*.sh) the
// request latency and the per-connection throughput of a remote S3
// endpoint while both servers run on this machine (one TCP stream over a
// long, lossy path rarely gets the link's whole bandwidth). The Host
// header is kept, so S3 signatures stay valid.
//
//	go run ./bench/mirror/latproxy -listen 127.0.0.1:9100 -upstream http://127.0.0.1:9000 -delay 20ms -rate 16MiB
package main

import (
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"time"

	"github.com/starrocks-backup/srbackup/pkg/bytesize"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "address to listen on")
	upstream := flag.String("upstream", "", "URL of the server")
	delay := flag.Duration("delay", 20*time.Millisecond, "delay added to every request")
	rateFlag := flag.String("rate", "0", "bytes per second each client connection may carry in each direction (e.g. 16MiB; 0: no limit)")
	flag.Parse()
	u, err := url.Parse(*upstream)
	if err != nil || u.Host == "" {
		fmt.Fprintf(os.Stderr, "latproxy: bad -upstream %q\n", *upstream)
		os.Exit(2)
	}
	rate, err := bytesize.Parse(*rateFlag)
	if err != nil || rate < 0 {
		fmt.Fprintf(os.Stderr, "latproxy: bad -rate %q\n", *rateFlag)
		os.Exit(2)
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintln(os.Stderr, "latproxy:", err)
		os.Exit(1)
	}
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.Transport = &http.Transport{MaxIdleConnsPerHost: 1024, IdleConnTimeout: 90 * time.Second}
	srv := &http.Server{
		ReadHeaderTimeout: time.Minute,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			time.Sleep(*delay)
			rp.ServeHTTP(w, r)
		}),
	}
	if rate > 0 {
		ln = limited{Listener: ln, rate: float64(rate)}
	}
	if err := srv.Serve(ln); err != nil {
		fmt.Fprintln(os.Stderr, "latproxy:", err)
		os.Exit(1)
	}
}

// limited hands out connections held to rate bytes per second each way.
type limited struct {
	net.Listener
	rate float64
}

func (l limited) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &slowConn{Conn: c, in: pacer{rate: l.rate}, out: pacer{rate: l.rate}}, nil
}

// pacer spaces the bytes of one direction: after n bytes in all since
// start, no more before start + n/rate. Idle time does not bank credit
// beyond a tenth of a second.
type pacer struct {
	rate  float64
	start time.Time
	n     float64
}

func (p *pacer) wait(n int) {
	now := time.Now()
	if p.start.IsZero() || now.Sub(p.start.Add(time.Duration(p.n/p.rate*float64(time.Second)))) > 100*time.Millisecond {
		p.start, p.n = now, 0 // idle: start over
	}
	p.n += float64(n)
	time.Sleep(time.Until(p.start.Add(time.Duration(p.n / p.rate * float64(time.Second)))))
}

// slowConn reads and writes at most 32 KiB at a time, each paced.
type slowConn struct {
	net.Conn
	in, out pacer
}

const chunk = 32 << 10

func (c *slowConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b[:min(len(b), chunk)])
	c.in.wait(n)
	return n, err
}

func (c *slowConn) Write(b []byte) (int, error) {
	written := 0
	for written < len(b) {
		m := min(len(b)-written, chunk)
		c.out.wait(m)
		n, err := c.Conn.Write(b[written : written+m])
		written += n
		if err != nil {
			return written, err
		}
	}
	return written, nil
}
