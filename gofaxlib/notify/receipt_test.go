package notify

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gofaxserver/gofaxserver/gofaxlib"
	"github.com/gofaxserver/gofaxserver/internal/golden"
)

// TestReceiptGolden renders the e-mail of every event type from the fax
// resources in testdata/receipts.json.
func TestReceiptGolden(t *testing.T) {
	src, err := os.ReadFile("testdata/receipts.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []struct {
		Name     string             `json:"name"`
		Type     gofaxlib.EventType `json:"type"`
		TimeZone string             `json:"time_zone"`
		Fax      json.RawMessage    `json:"fax"`
	}
	if err := json.Unmarshal(src, &cases); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	for _, c := range cases {
		ev := gofaxlib.Event{ID: "evt_" + c.Name, Type: c.Type, FaxID: "fax_" + c.Name, TimeZone: c.TimeZone,
			Time: time.Date(2026, 1, 15, 8, 9, 10, 0, time.UTC), Payload: c.Fax}
		subject, body, err := Receipt(ev)
		if err != nil {
			t.Fatalf("%s: %v", c.Name, err)
		}
		out.WriteString("=== " + c.Name + "\nSubject: " + subject + "\n\n" + body + "\n")
	}
	golden.Check(t, filepath.Join("testdata", "golden", "receipts.txt"), []byte(out.String()))
}

func TestReceiptBadPayload(t *testing.T) {
	if _, _, err := Receipt(gofaxlib.Event{Type: gofaxlib.EventReceived, Payload: json.RawMessage(`{"from":`)}); err == nil {
		t.Error("broken JSON accepted")
	}
	// The mailer makes that permanent: no retry mends a broken payload.
	m, _ := NewMailer(SMTPConfig{Host: "127.0.0.1", Port: 1, From: "fax@example.com"})
	err := m.Send(context.Background(), gofaxlib.Delivery{Event: gofaxlib.Event{Payload: json.RawMessage(`[`)},
		Target: gofaxlib.DeliveryTarget{Address: "a@example.com"}}, nil)
	if !errors.Is(err, ErrPermanent) {
		t.Errorf("Send = %v", err)
	}
}

func TestAttachmentChecks(t *testing.T) {
	bad := []Attachment{
		{Name: "a.pdf", ContentType: "application/pdf\r\nX-Evil: 1", Data: []byte("x")},
		{Name: "a.pdf", ContentType: "application/pdf; name=x", Data: []byte("x")},
		{Name: strings.Repeat("x", 300), Data: []byte("x")},
	}
	for _, a := range bad {
		if _, _, err := Body(gofaxlib.Delivery{Event: testEvent("evt_x")}, []Attachment{a}); !errors.Is(err, ErrPermanent) {
			t.Errorf("webhook body with %q/%d: %v", a.ContentType, len(a.Name), err)
		}
		m, _ := NewMailer(SMTPConfig{Host: "127.0.0.1", Port: 1, From: "fax@example.com"})
		if err := m.SendMail(context.Background(), Mail{To: []string{"a@example.com"}, Attachments: []Attachment{a}}); !errors.Is(err, ErrPermanent) {
			t.Errorf("mail with %q/%d: %v", a.ContentType, len(a.Name), err)
		}
	}
}

func FuzzParseFaxView(f *testing.F) {
	src, err := os.ReadFile("testdata/receipts.json")
	if err != nil {
		f.Fatal(err)
	}
	var cases []struct {
		Fax json.RawMessage `json:"fax"`
	}
	if err := json.Unmarshal(src, &cases); err != nil {
		f.Fatal(err)
	}
	for _, c := range cases {
		f.Add([]byte(c.Fax))
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		for _, typ := range gofaxlib.EventTypes {
			subject, body, err := Receipt(gofaxlib.Event{ID: "e", Type: typ, Payload: payload, TimeZone: "Europe/Berlin"})
			if err != nil {
				return
			}
			if subject == "" || !strings.Contains(body, "Event:") {
				t.Errorf("subject %q body %q", subject, body)
			}
		}
	})
}

// TestReceiptOfFaxResource renders e-mails from payloads built the way the
// outbox builds them (gofaxlib.NewFaxResource), whose error codes are
// names, not numbers.
func TestReceiptOfFaxResource(t *testing.T) {
	done := time.Date(2026, 3, 1, 10, 0, 40, 0, time.UTC)
	tests := []struct {
		name string
		typ  gofaxlib.EventType
		fax  gofaxlib.Fax
		want []string
	}{
		{"partial", gofaxlib.EventReceived, gofaxlib.Fax{Direction: gofaxlib.Inbound, Status: gofaxlib.StatusReceived,
			From: "+4930111", To: "+4930222", PagesTotal: 3, PagesTransferred: 2, ResultCode: gofaxlib.T30CallDropped,
			ResultText: "The call dropped prematurely"},
			[]string{"Fax received in part", "Pages:    2 of 3", "Result:   The call dropped prematurely (CALLDROPPED)"}},
		{"busy", gofaxlib.EventFailed, gofaxlib.Fax{Direction: gofaxlib.Outbound, Status: gofaxlib.StatusFailed,
			From: "+4930111", To: "+4930222", PagesTotal: 1, HangupCause: "USER_BUSY"},
			[]string{"Fax could not be delivered", "Result:   the line is busy (USER_BUSY)"}},
		{"hylafax", gofaxlib.EventFailed, gofaxlib.Fax{Direction: gofaxlib.Outbound, Status: gofaxlib.StatusFailed,
			To: "+4930222", ResultText: "Document conversion failed"},
			[]string{"Result:   Document conversion failed\n"}},
		{"canceled", gofaxlib.EventCanceled, gofaxlib.Fax{Direction: gofaxlib.Outbound, Status: gofaxlib.StatusCanceled,
			To: "+4930222"},
			[]string{"Fax canceled", "Result:   canceled before it was delivered\n"}},
		{"delivered", gofaxlib.EventDelivered, gofaxlib.Fax{Direction: gofaxlib.Outbound, Status: gofaxlib.StatusDelivered,
			To: "+4930222", PagesTotal: 2, PagesTransferred: 2, ResultText: "OK"},
			[]string{"Fax delivered", "Pages:    2\n", "Result:   OK\n"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.fax.ID, tt.fax.Host, tt.fax.Completed = "6f1c2a9e-0000-4000-8000-000000000001", "fax1", done
			payload, err := json.Marshal(gofaxlib.NewFaxResource(&tt.fax, []gofaxlib.Attempt{}))
			if err != nil {
				t.Fatal(err)
			}
			_, body, err := Receipt(gofaxlib.Event{ID: "evt", Type: tt.typ, Time: done, Payload: payload})
			if err != nil {
				t.Fatalf("Receipt: %v (payload %s)", err, payload)
			}
			for _, w := range tt.want {
				if !strings.Contains(body, w) {
					t.Errorf("body lacks %q:\n%s", w, body)
				}
			}
		})
	}
}
