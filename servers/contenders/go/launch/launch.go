// Package launch is what both Go contenders do around their server: the
// command line servers/contenders/go-contenders.ts passes, the listening
// socket, the ready line, and the ways to stop (SIGTERM/SIGINT: graceful; the
// parent's end of stdin closing: at once, so a killed parent leaves no orphan).
package launch

import (
	"crypto/tls"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"callbench/calc"
)

type Options struct {
	Name       string
	Host       string
	Port       int
	TLS        *tls.Config
	StreamIdle time.Duration
	IdleMs     int
	// ExitWithStdin: exit when stdin ends (the starter holds a pipe; a terminal or /dev/null does not).
	ExitWithStdin bool
}

// Parse reads --host, --port, --tls-cert, --tls-key (PEM files) and --stream-idle-ms.
func Parse(name string) Options {
	host := flag.String("host", "127.0.0.1", "interface to bind")
	port := flag.Int("port", 0, "port (0: a free one)")
	certFile := flag.String("tls-cert", "", "PEM certificate: serve over TLS")
	keyFile := flag.String("tls-key", "", "PEM private key of --tls-cert")
	idleMs := flag.Int("stream-idle-ms", calc.StreamIdleMs, "end a stream silent for this long")
	exitWithStdin := flag.Bool("exit-with-stdin", false, "exit when stdin reaches its end (the parent went away)")
	flag.Parse()
	options := Options{Name: name, Host: *host, Port: *port, IdleMs: *idleMs, StreamIdle: time.Duration(*idleMs) * time.Millisecond, ExitWithStdin: *exitWithStdin}
	if *certFile != "" {
		cert, err := tls.LoadX509KeyPair(*certFile, *keyFile)
		if err != nil {
			Fail("%s server: cannot read the TLS certificate: %v", name, err)
		}
		options.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	}
	return options
}

// Listen binds host:port; a failure is one line and exit 1, worded as servers/server-options.ts describeListenError.
func Listen(o Options) net.Listener {
	listener, err := net.Listen("tcp", net.JoinHostPort(o.Host, strconv.Itoa(o.Port)))
	if err != nil {
		text := err.Error()
		switch {
		case contains(text, "address already in use"):
			Fail("%s server: port %d on %s is already in use; choose another port or 0 for a free one", o.Name, o.Port, o.Host)
		case contains(text, "permission denied"):
			Fail("%s server: no permission to bind %s:%d", o.Name, o.Host, o.Port)
		default:
			Fail("%s server: cannot bind %s:%d: %s", o.Name, o.Host, o.Port, text)
		}
	}
	return listener
}

func contains(text, part string) bool {
	for i := 0; i+len(part) <= len(text); i++ {
		if text[i:i+len(part)] == part {
			return true
		}
	}
	return false
}

// Ready prints the line the starter waits for: "<name> server listening on <address>".
func Ready(o Options, address string) {
	fmt.Printf("%s server listening on %s\n", o.Name, address)
}

// Port of a bound listener.
func Port(listener net.Listener) int {
	return listener.Addr().(*net.TCPAddr).Port
}

// HostPort formats host:port, bracketing an IPv6 host.
func HostPort(host string, port int) string {
	return net.JoinHostPort(host, strconv.Itoa(port))
}

// Run calls stop() on SIGTERM/SIGINT and exits 0 after it; with
// --exit-with-stdin, stdin reaching its end (the parent went away) exits at once.
func Run(o Options, stop func()) {
	if o.ExitWithStdin {
		go func() {
			_, _ = io.Copy(io.Discard, os.Stdin)
			os.Exit(0)
		}()
	}
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT)
	<-signals
	stop()
	os.Exit(0)
}

func Fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "error: "+format+"\n", args...)
	os.Exit(1)
}
