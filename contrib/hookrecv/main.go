// Command hookrecv is a small webhook receiver for gofaxserver's receipts:
// it checks each request's Standard Webhooks signature, de-duplicates by
// webhook-id, prints one line per receipt and keeps the bodies. make demo
// runs it; it is also a starting point for a receiver of your own.
//
//	hookrecv -secret whsec_... [-listen 127.0.0.1:0] [-dir DIR]
//
// It prints "hookrecv: listening on <addr>" once it accepts connections,
// then for each receipt "hookrecv: <type> <id> fax <fax id> from <from> to
// <to>, <n> pages: signature verified" (or why it refused it: 401 for a
// bad signature, which gofaxd retries). With -dir, each body is written to
// <dir>/<webhook-id>.json. It stops on SIGTERM or SIGINT.
package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	err := run(ctx, os.Args[1:], os.Stdout)
	stop()
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "hookrecv:", err)
		os.Exit(1)
	}
}

// maxBody bounds a request body: a receipt with a fax attached as PDF is
// at most 16 MiB, a third more in base64.
const maxBody = 24 << 20

// tolerance is how far a webhook-timestamp may be from this clock: older
// requests may be replays.
const tolerance = 5 * time.Minute

func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("hookrecv", flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:0", "listen `address`")
	secret := fs.String("secret", "", "the endpoint's signing `secret` (whsec_...)")
	dir := fs.String("dir", "", "`directory` to keep the bodies in")
	if err := fs.Parse(args); err != nil {
		return err
	}
	key, err := parseSecret(*secret)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	r := &receiver{key: key, dir: *dir, out: stdout, seen: map[string]bool{}}
	srv := &http.Server{Handler: r, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute}
	fmt.Fprintf(stdout, "hookrecv: listening on %s\n", ln.Addr())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	// Requests in progress may finish; connections a client opened but
	// never used are closed after a moment.
	sctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		srv.Close()
	}
	return nil
}

// parseSecret returns the key of a "whsec_" secret: the base64 after the
// prefix.
func parseSecret(s string) ([]byte, error) {
	b64, ok := strings.CutPrefix(s, "whsec_")
	if !ok {
		return nil, errors.New("-secret: want the endpoint's whsec_... secret")
	}
	key, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || len(key) < 24 {
		return nil, errors.New("-secret: not a whsec_ secret of at least 24 bytes in base64")
	}
	return key, nil
}

type receiver struct {
	key []byte
	dir string
	out io.Writer

	mu   sync.Mutex
	seen map[string]bool
}

// verify checks a request as Standard Webhooks says: the timestamp within
// the tolerance, and one of the space-separated "v1,<base64>" signatures
// equal to base64(HMAC-SHA256(key, id + "." + timestamp + "." + body)).
func verify(key []byte, id, timestamp, signatures string, body []byte, now time.Time) error {
	ts, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return fmt.Errorf("webhook-timestamp %q is not a Unix time", timestamp)
	}
	if d := now.Sub(time.Unix(ts, 0)); d > tolerance || d < -tolerance {
		return fmt.Errorf("webhook-timestamp %v off", d.Round(time.Second))
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + timestamp + "."))
	mac.Write(body)
	want := mac.Sum(nil)
	for _, s := range strings.Fields(signatures) {
		if v, sig, ok := strings.Cut(s, ","); ok && v == "v1" {
			if got, err := base64.StdEncoding.DecodeString(sig); err == nil && hmac.Equal(got, want) {
				return nil
			}
		}
	}
	return errors.New("no matching signature")
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodPost {
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, req.Body, maxBody))
	if err != nil {
		w.WriteHeader(http.StatusRequestEntityTooLarge)
		return
	}
	id := req.Header.Get("webhook-id")
	if err := verify(r.key, id, req.Header.Get("webhook-timestamp"), req.Header.Get("webhook-signature"), body, time.Now()); err != nil {
		fmt.Fprintf(r.out, "hookrecv: %q refused: %v\n", id, err)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	r.mu.Lock()
	repeat := r.seen[id]
	r.seen[id] = true
	r.mu.Unlock()
	if repeat {
		// Delivered before (the answer got lost, or a redelivery): the
		// id says it is the same receipt.
		fmt.Fprintf(r.out, "hookrecv: %s again: signature verified, already seen\n", id)
		w.WriteHeader(http.StatusNoContent)
		return
	}
	var env struct {
		Type string `json:"type"`
		Data struct {
			ID    string `json:"id"`
			From  string `json:"from"`
			To    string `json:"to"`
			Pages struct {
				Transferred int `json:"transferred"`
			} `json:"pages"`
		} `json:"data"`
	}
	payload := body
	if mt, params, _ := mime.ParseMediaType(req.Header.Get("Content-Type")); mt == "multipart/form-data" {
		// The JSON is the part "payload"; the file parts follow.
		mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
		if p, err := mr.NextPart(); err == nil && p.FormName() == "payload" {
			payload, _ = io.ReadAll(io.LimitReader(p, 1<<20))
		}
	}
	if err := json.Unmarshal(payload, &env); err != nil {
		fmt.Fprintf(r.out, "hookrecv: %s: body is not a receipt: %v\n", id, err)
	}
	if r.dir != "" && !strings.ContainsAny(id, "/\\") {
		os.WriteFile(filepath.Join(r.dir, id+".json"), body, 0o644)
	}
	fmt.Fprintf(r.out, "hookrecv: %s %s fax %s from %s to %s, %d pages: signature verified\n", env.Type, id, env.Data.ID,
		env.Data.From, env.Data.To, env.Data.Pages.Transferred)
	w.WriteHeader(http.StatusNoContent)
}
