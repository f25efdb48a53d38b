// grpc-fake: a gRPC server on a unix socket, on Go's own HTTP/2 (net/http,
// unencrypted HTTP/2 with prior knowledge), that answers each method with
// one way a gRPC answer can be right or wrong, for tests/runtime/grpc.sh to
// call with the shim's client (shim-bridge/shim/containerd/grpc.c). Only the
// standard library: the test builds it with no download.
//
//	grpc-fake SOCKET
//
// Prints "serving" once it listens. Every request is checked first: POST,
// content-type application/grpc, te: trailers, a containerd-namespace header,
// and a body that is exactly one uncompressed framed message; a request that
// breaks one is answered with grpc-status 3 and a message naming it.
package main

import (
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
)

// frame is one gRPC message with its 5-byte prefix.
func frame(flag byte, msg []byte) []byte {
	b := make([]byte, 5, 5+len(msg))
	b[0] = flag
	binary.BigEndian.PutUint32(b[1:], uint32(len(msg)))
	return append(b, msg...)
}

// checkRequest returns what is wrong with the request, or "", and the
// message it carried.
func checkRequest(r *http.Request) (string, []byte) {
	if r.Method != http.MethodPost || r.ProtoMajor != 2 {
		return "not an HTTP/2 POST", nil
	}
	if r.Header.Get("Content-Type") != "application/grpc" {
		return "content-type is " + r.Header.Get("Content-Type"), nil
	}
	if r.Header.Get("Te") != "trailers" {
		return "no te: trailers", nil
	}
	if r.Header.Get("Containerd-Namespace") == "" {
		return "no containerd-namespace", nil
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil || len(body) < 5 || body[0] != 0 || int(binary.BigEndian.Uint32(body[1:5])) != len(body)-5 {
		return "the body is not one framed message", nil
	}
	return "", body[5:]
}

func handle(w http.ResponseWriter, r *http.Request) {
	bad, msg := checkRequest(r)
	h := w.Header()
	if bad != "" {
		h.Set("Content-Type", "application/grpc")
		h.Set("Grpc-Status", "3")
		h.Set("Grpc-Message", url.PathEscape(bad))
		w.WriteHeader(200)
		return
	}
	ns := r.Header.Get("Containerd-Namespace")
	h.Set("Content-Type", "application/grpc")
	// As grpc-go does: headers, the messages, then the status in trailers
	// (set through TrailerPrefix once the body is flushed).
	status, message := "0", ""
	defer func() {
		if status == "" {
			return
		}
		w.(http.Flusher).Flush()
		h.Set(http.TrailerPrefix+"Grpc-Status", status)
		if message != "" {
			h.Set(http.TrailerPrefix+"Grpc-Message", message)
		}
	}()
	switch r.URL.Path {
	case "/test.Fake/Echo": // the request's message and the namespace back
		w.Write(frame(0, append([]byte(ns+":"), msg...)))
	case "/test.Fake/Empty": // one empty message
		w.Write(frame(0, nil))
	case "/test.Fake/Stream": // three messages, in two writes
		w.Write(append(frame(0, []byte("one")), frame(0, []byte("two"))[:3]...))
		w.(http.Flusher).Flush()
		w.Write(append(frame(0, []byte("two"))[3:], frame(0, []byte("three"))...))
	case "/test.Fake/Two": // two messages where one is due
		w.Write(append(frame(0, []byte("a")), frame(0, []byte("b"))...))
	case "/test.Fake/Compressed":
		w.Write(frame(1, []byte("zz")))
	case "/test.Fake/Huge": // a prefix announcing 5 MiB
		b := frame(0, nil)
		binary.BigEndian.PutUint32(b[1:], 5<<20)
		w.Write(b)
	case "/test.Fake/Cut": // the body ends inside a message
		w.Write(frame(0, []byte("whole message"))[:9])
	case "/test.Fake/NoStatus":
		status = ""
		w.Write(frame(0, []byte("x")))
	case "/test.Fake/NotFound": // trailers-only, as containerd answers errors
		status = ""
		h.Set("Grpc-Status", "5")
		h.Set("Grpc-Message", url.PathEscape(`image "x": not found`)+"%0Asecond line")
		w.WriteHeader(200)
	case "/test.Fake/TrailerError": // a message, then an error in the trailers
		w.Write(frame(0, []byte("partial")))
		status, message = "14", "going away"
	case "/test.Fake/BadStatus":
		status = ""
		h.Set("Grpc-Status", "99")
		w.WriteHeader(200)
	case "/test.Fake/Http500":
		status = ""
		w.WriteHeader(500)
	case "/test.Fake/Html":
		status = ""
		h.Set("Content-Type", "text/html")
		w.Write([]byte("<html></html>"))
	default:
		status, message = "12", url.PathEscape("unknown method "+r.URL.Path)
	}
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: grpc-fake SOCKET")
		os.Exit(2)
	}
	l, err := net.Listen("unix", os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	var p http.Protocols
	p.SetUnencryptedHTTP2(true)
	srv := &http.Server{Handler: http.HandlerFunc(handle), Protocols: &p}
	fmt.Println("serving")
	if err := srv.Serve(l); err != nil && !strings.Contains(err.Error(), "closed") {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
