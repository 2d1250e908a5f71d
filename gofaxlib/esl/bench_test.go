package esl

import (
	"bytes"
	"io"
	"os"
	"testing"
	"time"
)

func benchCapture(b *testing.B) []byte {
	raw, err := os.ReadFile("testdata/transcripts/t38_B_plain.raw")
	if err != nil {
		b.Fatal(err)
	}
	return raw
}

// BenchmarkReadMessages frames a whole capture (264 KB, ~100 events).
func BenchmarkReadMessages(b *testing.B) {
	raw := benchCapture(b)
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		rd := NewReader(bytes.NewReader(raw))
		for {
			if _, err := rd.ReadMessage(); err == io.EOF {
				break
			} else if err != nil {
				b.Fatal(err)
			}
		}
	}
}

func benchEvent(b *testing.B) *Message {
	rd := NewReader(bytes.NewReader(benchCapture(b)))
	for {
		m, err := rd.ReadMessage()
		if err != nil {
			b.Fatal(err)
		}
		if e, err := ParseEvent(m); err == nil && e.Subclass() == "spandsp::rxfaxresult" {
			return m
		}
	}
}

// BenchmarkParsePlainEvent decodes one spandsp result event.
func BenchmarkParsePlainEvent(b *testing.B) {
	m := benchEvent(b)
	b.SetBytes(int64(len(m.Body)))
	for b.Loop() {
		if _, err := ParseEvent(m); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEncodePlainEvent encodes it again.
func BenchmarkEncodePlainEvent(b *testing.B) {
	m := benchEvent(b)
	e, _ := ParseEvent(m)
	b.SetBytes(int64(len(m.Body)))
	for b.Loop() {
		if _, err := e.EncodePlain(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAPI measures one api command and reply over loopback TCP
// against the scripted peer.
func BenchmarkAPI(b *testing.B) {
	addr := listenPeer(b, func(p *peerConn) {
		p.nc.SetDeadline(time.Time{})
		login(p)
		for {
			if _, err := p.command(); err != nil {
				return
			}
			p.send(apiResponse("+OK"))
		}
	})
	ctx := b.Context()
	c, err := Dial(ctx, addr, "ClueCon")
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	for b.Loop() {
		if out, err := c.API(ctx, "status"); err != nil || out != "+OK" {
			b.Fatal(out, err)
		}
	}
}

// receiverLookups are the headers a reception reads of a spandsp event.
var receiverLookups = []string{"Unique-ID", "Event-Name", "Event-Subclass", "fax-success", "fax-result-code",
	"fax-result-text", "fax-document-transferred-pages", "fax-document-total-pages", "fax-transfer-rate",
	"fax-ecm-used", "fax-t38-status", "fax-local-station-id", "fax-remote-station-id", "Caller-Channel-Answered-Time"}

// BenchmarkEventEager decodes the spandsp result event whole and reads
// what a reception reads of it.
func BenchmarkEventEager(b *testing.B) {
	m := benchEvent(b)
	b.ReportAllocs()
	for b.Loop() {
		e, err := ParsePlainEvent(m.Body)
		if err != nil {
			b.Fatal(err)
		}
		for _, n := range receiverLookups {
			e.Get(n)
		}
	}
}

// BenchmarkEventLazy is BenchmarkEventEager with the lazy decoding of a
// Conn's events.
func BenchmarkEventLazy(b *testing.B) {
	m := benchEvent(b)
	b.ReportAllocs()
	for b.Loop() {
		e, err := parsePlainLazy(m.Body)
		if err != nil {
			b.Fatal(err)
		}
		for _, n := range receiverLookups {
			e.Get(n)
		}
	}
}

// BenchmarkEventLazyReleased is BenchmarkEventLazy as a Conn's consumer
// runs it: each event's pooled body is released once read.
func BenchmarkEventLazyReleased(b *testing.B) {
	m := benchEvent(b)
	b.ReportAllocs()
	for b.Loop() {
		body := newBody(len(m.Body))
		copy(body, m.Body)
		e, err := parsePlainLazy(body)
		if err != nil {
			b.Fatal(err)
		}
		e.buf = body
		for _, n := range receiverLookups {
			e.Get(n)
		}
		e.Release()
	}
}
