package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"net/textproto"
	"os"
	"testing"
)

// bodyTypes are the JSON request bodies of the API.
func bodyTypes() []func() any {
	return []func() any{
		func() any { return new(tenantInput) }, func() any { return new(tenantPatch) },
		func() any { return new(numberInput) }, func() any { return new(numberPatch) },
		func() any { return new(userInput) }, func() any { return new(userPatch) },
		func() any { return new(apiKeyInput) },
		func() any { return new(endpointInput) }, func() any { return new(endpointPatch) },
	}
}

// FuzzDecodeBody: any body decodes into every request type or is refused
// as the client's mistake (400 or 422), never panics; what decodes
// survives encoding and decoding again unchanged.
func FuzzDecodeBody(f *testing.F) {
	for _, seed := range []string{
		`{"name":"Acme","time_zone":"Europe/Berlin","suspended":false,"retention_days":30}`,
		`{"tenant_id":"00000000-0000-4000-8000-000000000000","number":"030 123456","ident":"ACME"}`,
		`{"username":"alice","password":"correct horse","role":"tenant-admin","default_number_id":""}`,
		`{"scope":"number","kind":"webhook","target":"https://example.com/","options":{"events":["fax.received"],"attach":"pdf"}}`,
		`{"rotate_secret":true,"options":{"dial":"national"}}`,
		`{"name":5}`, `{"name":"x","colour":1}`, `[]`, `{"name":"x"} {}`, `{`, ``, `null`, `{"priority":1e400}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, mk := range bodyTypes() {
			v := mk()
			err := decodeBody(body, v, false)
			if err != nil {
				if s := statusOf(err); s != 400 && s != 422 {
					t.Fatalf("%T: %q: status %d for %v", v, body, s, err)
				}
				_ = newProblem(err, statusOf(err), nil, "fuzz")
				continue
			}
			enc, err := json.Marshal(v)
			if err != nil {
				t.Fatalf("%T: encoding %+v: %v", v, v, err)
			}
			w := mk()
			if err := decodeBody(enc, w, false); err != nil {
				t.Fatalf("%T: %s does not decode again: %v", v, enc, err)
			}
			if enc2, _ := json.Marshal(w); !bytes.Equal(enc, enc2) {
				t.Fatalf("%T: round trip changed %s to %s", v, enc, enc2)
			}
		}
	})
}

const fuzzBoundary = "fuzzboundary"

// formBody builds a multipart body: name/value pairs, "file" values are
// documents.
func formBody(parts ...[2][]byte) []byte {
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	w.SetBoundary(fuzzBoundary)
	for _, p := range parts {
		h := textproto.MIMEHeader{}
		disp := fmt.Sprintf(`form-data; name=%q`, p[0])
		if string(p[0]) == "file" {
			disp += `; filename="doc"`
		}
		h.Set("Content-Disposition", disp)
		pw, _ := w.CreatePart(h)
		pw.Write(p[1])
	}
	w.Close()
	return b.Bytes()
}

func part(name string, v []byte) [2][]byte { return [2][]byte{[]byte(name), v} }

// FuzzReadSubmission: any body is read into at most maxFiles documents
// within the limit, each written whole to the directory and recognised,
// or refused as the client's mistake; never a panic.
func FuzzReadSubmission(f *testing.F) {
	tiff, err := os.ReadFile("testdata/one-page-g4.tif")
	if err != nil {
		f.Fatal(err)
	}
	pdf := []byte("%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n")
	f.Add(formBody(part("to", []byte("+4930123456")), part("file", tiff[:512])))
	f.Add(formBody(part("to", []byte("030 1234")), part("from", []byte("+4989123456")), part("file", pdf), part("file", pdf)))
	f.Add(formBody(part("header", []byte("x")), part("header", []byte("y"))))
	f.Add(formBody(part("colour", []byte("red"))))
	f.Add(formBody(part("file", []byte("plain text"))))
	f.Add(formBody(part("file", nil)))
	f.Add([]byte("--" + fuzzBoundary + "\r\nContent-Disposition: form-data; name=\"to\"\r\n\r\n12"))
	const limit = 4096
	base := f.TempDir()
	f.Fuzz(func(t *testing.T, body []byte) {
		dir, err := os.MkdirTemp(base, "sub-")
		if err != nil {
			t.Fatal(err)
		}
		defer os.RemoveAll(dir)
		sub, err := readSubmission(bytes.NewReader(body), fuzzBoundary, dir, limit)
		if err != nil {
			if s := statusOf(err); s < 400 || s >= 500 {
				t.Fatalf("status %d for %v", s, err)
			}
			return
		}
		if len(sub.docs) > maxFiles || sub.size > limit {
			t.Fatalf("%d documents, %d bytes", len(sub.docs), sub.size)
		}
		var total int64
		for _, d := range sub.docs {
			b, err := os.ReadFile(d.Path)
			if err != nil || int64(len(b)) != d.Size || d.Size == 0 {
				t.Fatalf("document %+v: %d bytes, %v", d, len(b), err)
			}
			head := b
			if len(head) > sniffLen {
				head = head[:sniffLen]
			}
			if sniff(head) != d.Format {
				t.Fatalf("document %+v sniffs as %q", d, sniff(head))
			}
			total += d.Size
		}
		if total != sub.size {
			t.Fatalf("sizes %d, total %d", total, sub.size)
		}
		for k, v := range sub.fields {
			if !contains(submitFields, k) || len(v) > maxFieldLen {
				t.Fatalf("field %q = %q", k, v)
			}
		}
	})
}
