// ttrpc-peer: the real github.com/containerd/ttrpc, and the containerd api
// module's generated task and events code, on the other end of the shim's
// ttrpc (tests/runtime/ttrpc.sh). Built by hack/bootstrap --only ttrpc-peer.
//
//	ttrpc-peer call SOCKET     a client of our server: prints one line per check
//	ttrpc-peer events SOCKET N the events service: prints each forwarded
//	                           envelope, exits after N of them
package main

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	eventsapi "github.com/containerd/containerd/api/events"
	eventsvc "github.com/containerd/containerd/api/services/ttrpc/events/v1"
	task "github.com/containerd/containerd/api/runtime/task/v2"
	"github.com/containerd/ttrpc"
	"github.com/containerd/typeurl/v2"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

const taskService = "containerd.task.v2.Task"

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: ttrpc-peer call SOCKET | events SOCKET N")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "call":
		err = call(os.Args[2])
	case "events":
		n := 0
		if len(os.Args) > 3 {
			fmt.Sscan(os.Args[3], &n)
		}
		err = events(os.Args[2], n)
	default:
		err = fmt.Errorf("unknown mode %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "ttrpc-peer:", err)
		os.Exit(1)
	}
}

func codeOf(err error) string {
	if err == nil {
		return "OK"
	}
	return status.Code(err).String()
}

func call(sock string) error {
	conn, err := net.Dial("unix", sock)
	if err != nil {
		return err
	}
	client := ttrpc.NewClient(conn)
	defer client.Close()
	tc := task.NewTTRPCTaskClient(client)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	// The namespace goes in the metadata, as containerd sends it.
	nsctx := ttrpc.WithMetadata(ctx, ttrpc.MD{"containerd-namespace-ttrpc": {"k8s.io"}})
	st, err := tc.State(nsctx, &task.StateRequest{ID: "app-1"})
	if err != nil {
		fmt.Printf("state code=%s err=%q\n", codeOf(err), err)
	} else {
		fmt.Printf("state id=%s pid=%d status=%s bundle=%s\n", st.ID, st.Pid, st.Status, st.Bundle)
	}

	// Many calls at once on one connection: each answered on its stream.
	var wg sync.WaitGroup
	var mu sync.Mutex
	good := 0
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			id := fmt.Sprintf("c-%d", i)
			r, err := tc.State(ctx, &task.StateRequest{ID: id})
			if err == nil && r.ID == id {
				mu.Lock()
				good++
				mu.Unlock()
			}
		}(i)
	}
	wg.Wait()
	fmt.Printf("concurrent good=%d of 20\n", good)

	_, err = tc.Pause(ctx, &task.PauseRequest{ID: "app-1"})
	fmt.Printf("pause code=%s msg=%q\n", codeOf(err), status.Convert(err).Message())

	err = client.Call(ctx, "no.Such", "Thing", &emptypb.Empty{}, &emptypb.Empty{})
	fmt.Printf("unknown-service code=%s\n", codeOf(err))

	// A StateRequest's field 1 is a string; a varint there does not decode.
	var sr task.StateResponse
	err = client.Call(ctx, taskService, "State", wrapperspb.Int64(5), &sr)
	fmt.Printf("bad-payload code=%s msg=%q\n", codeOf(err), status.Convert(err).Message())

	// A large payload, well under the cap: 1 MiB of id.
	big := strings.Repeat("x", 1<<20)
	st, err = tc.State(ctx, &task.StateRequest{ID: big})
	fmt.Printf("large code=%s same=%v\n", codeOf(err), err == nil && st.ID == big)

	if err := raw(sock); err != nil {
		return err
	}
	// Last: Shutdown, which the C side registers to stop its server.
	_, err = tc.Shutdown(ctx, &task.ShutdownRequest{ID: "app-1"})
	fmt.Printf("shutdown code=%s\n", codeOf(err))
	return nil
}

// frame writes one ttrpc frame by hand.
func frame(w io.Writer, stream uint32, typ, flags byte, data []byte) error {
	var h [10]byte
	binary.BigEndian.PutUint32(h[0:], uint32(len(data)))
	binary.BigEndian.PutUint32(h[4:], stream)
	h[8], h[9] = typ, flags
	_, err := w.Write(append(h[:], data...))
	return err
}

// raw speaks the framing by hand: an envelope that is not a Request gets
// InvalidArgument on the same connection, an even stream id closes it.
func raw(sock string) error {
	conn, err := net.Dial("unix", sock)
	if err != nil {
		return err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	if err := frame(conn, 1, 1, 0, []byte{0x0a, 0x64, 'x'}); err != nil {
		return err
	}
	var h [10]byte
	if _, err := io.ReadFull(conn, h[:]); err != nil {
		return err
	}
	data := make([]byte, binary.BigEndian.Uint32(h[0:]))
	if _, err := io.ReadFull(conn, data); err != nil {
		return err
	}
	var resp ttrpc.Response
	if err := proto.Unmarshal(data, &resp); err != nil {
		return err
	}
	fmt.Printf("raw-garbage stream=%d type=%d code=%s\n", binary.BigEndian.Uint32(h[4:]), h[8],
		status.FromProto(resp.Status).Code())

	req, _ := proto.Marshal(&ttrpc.Request{Service: taskService, Method: "State"})
	if err := frame(conn, 2, 1, 0, req); err != nil {
		return err
	}
	_, err = io.ReadFull(conn, h[:1])
	fmt.Printf("raw-even-stream closed=%v\n", errors.Is(err, io.EOF))
	return nil
}

type eventsServer struct {
	mu   sync.Mutex
	seen int
	want int
	done chan struct{}
}

func (s *eventsServer) Forward(ctx context.Context, r *eventsvc.ForwardRequest) (*emptypb.Empty, error) {
	env := r.Envelope
	md, _ := ttrpc.GetMetadataValue(ctx, "containerd-namespace-ttrpc")
	line := fmt.Sprintf("event ns=%s md_ns=%s topic=%s type=%s", env.GetNamespace(), md, env.GetTopic(),
		env.GetEvent().GetTypeUrl())
	v, err := typeurl.UnmarshalAny(env.GetEvent())
	if err != nil {
		line += fmt.Sprintf(" decode_err=%q", err)
	} else {
		url, _ := typeurl.TypeURL(v)
		line += fmt.Sprintf(" typeurl_matches=%v", url == env.GetEvent().GetTypeUrl())
		switch e := v.(type) {
		case *eventsapi.TaskCreate:
			line += fmt.Sprintf(" container=%s bundle=%s pid=%d", e.ContainerID, e.Bundle, e.Pid)
		case *eventsapi.TaskStart:
			line += fmt.Sprintf(" container=%s pid=%d", e.ContainerID, e.Pid)
		case *eventsapi.TaskExit:
			line += fmt.Sprintf(" container=%s pid=%d exit_status=%d exited_at=%s", e.ContainerID, e.Pid,
				e.ExitStatus, e.ExitedAt.AsTime().UTC().Format(time.RFC3339Nano))
		case *eventsapi.TaskDelete:
			line += fmt.Sprintf(" container=%s pid=%d exit_status=%d", e.ContainerID, e.Pid, e.ExitStatus)
		}
	}
	line += fmt.Sprintf(" time=%s", env.GetTimestamp().AsTime().UTC().Format(time.RFC3339Nano))
	fmt.Println(line)
	s.mu.Lock()
	s.seen++
	if s.seen == s.want {
		close(s.done)
	}
	s.mu.Unlock()
	return &emptypb.Empty{}, nil
}

// gone is a listener whose connections report, on the channel, when the
// peer has closed them (a read at EOF or an error).
type gone struct {
	net.Listener
	closed chan struct{}
}

type goneConn struct {
	net.Conn
	once   sync.Once
	closed chan struct{}
}

func (l gone) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &goneConn{Conn: c, closed: l.closed}, nil
}

func (c *goneConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if err != nil {
		c.once.Do(func() { c.closed <- struct{}{} })
	}
	return n, err
}

func events(sock string, n int) error {
	srv, err := ttrpc.NewServer()
	if err != nil {
		return err
	}
	es := &eventsServer{want: n, done: make(chan struct{})}
	eventsvc.RegisterTTRPCEventsService(srv, es)
	ul, err := net.Listen("unix", sock)
	if err != nil {
		return err
	}
	l := gone{Listener: ul, closed: make(chan struct{}, 16)}
	fmt.Println("listening")
	go srv.Serve(context.Background(), l)
	select {
	case <-es.done:
	case <-time.After(30 * time.Second):
		return fmt.Errorf("%d of %d events after 30 s", es.seen, n)
	}
	// The last event is counted inside its handler, before its answer is
	// written: close only once the client has read it and hung up (at
	// most 5 s), else the answer can be cut off.
	select {
	case <-l.closed:
	case <-time.After(5 * time.Second):
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	srv.Shutdown(ctx)
	return nil
}
