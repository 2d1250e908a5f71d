package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/netip"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gofaxserver/gofaxserver/gofaxlib"
	"github.com/gofaxserver/gofaxserver/gofaxlib/notify"
)

// TestVerifySpecificationExample: the example of the Standard Webhooks
// specification verifies, and a changed body, id or timestamp does not.
func TestVerifySpecificationExample(t *testing.T) {
	key, err := parseSecret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	if err != nil {
		t.Fatal(err)
	}
	const id, ts, sig = "msg_p5jXN8AQM9LWM0D4loKWxJek", "1614265330", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
	now := time.Unix(1614265330+60, 0)
	for _, tc := range []struct {
		name, id, ts, sig, body string
		at                      time.Time
		ok                      bool
	}{
		{"the example", id, ts, sig, `{"test": 2432232314}`, now, true},
		{"with a second signature", id, ts, "v1,bm9wZQ== " + sig, `{"test": 2432232314}`, now, true},
		{"body changed", id, ts, sig, `{"test": 2432232315}`, now, false},
		{"id changed", "msg_other", ts, sig, `{"test": 2432232314}`, now, false},
		{"too old", id, ts, sig, `{"test": 2432232314}`, now.Add(time.Hour), false},
		{"other version", id, ts, "v2" + sig[2:], `{"test": 2432232314}`, now, false},
	} {
		if err := verify(key, tc.id, tc.ts, tc.sig, []byte(tc.body), tc.at); (err == nil) != tc.ok {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
	for _, bad := range []string{"", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_c2hvcnQ=", "whsec_!!"} {
		if _, err := parseSecret(bad); err == nil {
			t.Errorf("secret %q accepted", bad)
		}
	}
}

// TestReceivesGofaxReceipts: receipts sent by gofaxserver's own webhook
// sender are verified, printed once, and a repeat is recognised by its id.
func TestReceivesGofaxReceipts(t *testing.T) {
	secret, err := notify.NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	pr, pw := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"-secret", secret, "-dir", t.TempDir()}, pw); pw.Close() }()
	lines := bufio.NewScanner(pr)
	next := func() string {
		if !lines.Scan() {
			t.Fatalf("hookrecv ended: %v", lines.Err())
		}
		return lines.Text()
	}
	addr := regexp.MustCompile(`listening on (\S+)`).FindStringSubmatch(next())
	if addr == nil {
		t.Fatal("no listening line")
	}
	payload, _ := json.Marshal(map[string]any{"id": "f1", "from": "+4930123", "to": "+4940456", "pages": map[string]int{"transferred": 2}})
	wh := notify.NewWebhook(notify.WebhookConfig{Policy: notify.AddressPolicy{Deny: []netip.Prefix{}}})
	for i, multi := range []bool{false, true, true} {
		d := gofaxlib.Delivery{Event: gofaxlib.Event{ID: "evt_" + string(rune('a'+min(i, 1))), Type: gofaxlib.EventReceived,
			Time: time.Now(), Payload: payload},
			Target: gofaxlib.DeliveryTarget{Kind: gofaxlib.TargetWebhook, Address: "http://" + addr[1] + "/hook", Secret: secret, Multipart: multi}}
		var files []notify.Attachment
		if multi {
			files = []notify.Attachment{{Name: "fax.pdf", Data: []byte("%PDF-")}}
		}
		go func() {
			if err := wh.Send(context.Background(), d, files); err != nil {
				t.Error(err)
			}
		}()
		line := next()
		want := "fax.received evt_a fax f1 from +4930123 to +4940456, 2 pages: signature verified"
		switch i {
		case 1:
			want = "fax.received evt_b fax f1 from +4930123 to +4940456, 2 pages: signature verified"
		case 2:
			want = "evt_b again: signature verified, already seen"
		}
		if !strings.Contains(line, want) {
			t.Errorf("receipt %d: %q, want %q", i, line, want)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("run: %v", err)
	}
}

// FuzzVerify: whatever the headers and body, verify answers without
// panicking, and accepts only a signature made with the key.
func FuzzVerify(f *testing.F) {
	f.Add("msg_p5jXN8AQM9LWM0D4loKWxJek", "1614265330", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", []byte(`{"test": 2432232314}`))
	f.Add("", "", "", []byte{})
	f.Add("x", "-1", "v1, v1,,, v2,abc", []byte("\x00"))
	key, _ := parseSecret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	f.Fuzz(func(t *testing.T, id, ts, sig string, body []byte) {
		err := verify(key, id, ts, sig, body, time.Unix(1614265330, 0))
		if err == nil && (id != "msg_p5jXN8AQM9LWM0D4loKWxJek" || string(body) != `{"test": 2432232314}`) {
			t.Errorf("accepted %q %q %q %q", id, ts, sig, body)
		}
	})
}
