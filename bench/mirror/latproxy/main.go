// Command latproxy is an HTTP reverse proxy that delays every request by a
// fixed time before passing it on, to give the mirror benchmark
// (bench/mirror/run.sh) the request latency of a remote S3 endpoint while
// both servers run on this machine. The Host header is kept, so S3
// signatures stay valid.
//
//	go run ./bench/mirror/latproxy -listen 127.0.0.1:9100 -upstream http://127.0.0.1:9000 -delay 20ms
package main

import (
	"flag"
	"fmt"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"time"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "address to listen on")
	upstream := flag.String("upstream", "", "URL of the server")
	delay := flag.Duration("delay", 20*time.Millisecond, "delay added to every request")
	flag.Parse()
	u, err := url.Parse(*upstream)
	if err != nil || u.Host == "" {
		fmt.Fprintf(os.Stderr, "latproxy: bad -upstream %q\n", *upstream)
		os.Exit(2)
	}
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.Transport = &http.Transport{MaxIdleConnsPerHost: 1024, IdleConnTimeout: 90 * time.Second}
	srv := &http.Server{
		Addr:              *listen,
		ReadHeaderTimeout: time.Minute,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			time.Sleep(*delay)
			rp.ServeHTTP(w, r)
		}),
	}
	if err := srv.ListenAndServe(); err != nil {
		fmt.Fprintln(os.Stderr, "latproxy:", err)
		os.Exit(1)
	}
}
