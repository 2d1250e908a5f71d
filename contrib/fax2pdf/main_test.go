package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestRun(t *testing.T) {
	in := filepath.Join("..", "..", "gofaxlib", "faxdoc", "testdata", "received-t38-2page.tif")
	dir := t.TempDir()
	out := filepath.Join(dir, "fax.pdf")
	var stdout, stderr bytes.Buffer
	if code := run([]string{in, out}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	b, err := os.ReadFile(out)
	if err != nil || !bytes.HasPrefix(b, []byte("%PDF-")) || !bytes.HasSuffix(b, []byte("%%EOF\n")) {
		t.Fatalf("output %q...: %v", b[:min(len(b), 20)], err)
	}
	if code := run([]string{in, "-"}, &stdout, &stderr); code != 0 || !bytes.Equal(stdout.Bytes(), b) {
		t.Errorf("stdout output differs (exit %d)", code)
	}
	// A file that is no fax leaves no output behind.
	bad := filepath.Join(dir, "bad.tif")
	os.WriteFile(bad, []byte("II*\x00junk"), 0o644)
	stderr.Reset()
	if code := run([]string{bad, filepath.Join(dir, "bad.pdf")}, &stdout, &stderr); code != 1 || !strings.Contains(stderr.String(), "fax2pdf:") {
		t.Errorf("bad input: exit %d, %q", code, stderr.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "bad.pdf")); !os.IsNotExist(err) {
		t.Errorf("bad.pdf left behind: %v", err)
	}
	if code := run(nil, &stdout, &stderr); code != 2 {
		t.Errorf("no arguments: exit %d", code)
	}
}

// BenchmarkExec runs fax2pdf and libtiff's tiff2pdf once per received
// fax (two pages each), process start-up included, and reports pages/s.
func BenchmarkExec(b *testing.B) {
	dir := b.TempDir()
	bin := filepath.Join(dir, "fax2pdf")
	gotool := filepath.Join(runtime.GOROOT(), "bin", "go")
	if out, err := exec.Command(gotool, "build", "-trimpath", "-o", bin, ".").CombinedOutput(); err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	var files []string
	for _, name := range []string{"received-t38-2page.tif", "received-t38-json-2page.tif", "received-g711-2page.tif"} {
		files = append(files, filepath.Join("..", "..", "gofaxlib", "faxdoc", "testdata", name))
	}
	const pagesPerFile = 2
	out := filepath.Join(dir, "out.pdf")
	for _, tool := range []struct {
		name string
		args func(in string) []string
	}{
		{bin, func(in string) []string { return []string{in, out} }},
		{"tiff2pdf", func(in string) []string { return []string{"-o", out, in} }},
	} {
		b.Run(filepath.Base(tool.name), func(b *testing.B) {
			path, err := exec.LookPath(tool.name)
			if err != nil {
				b.Skipf("%s not installed", tool.name)
			}
			pages := 0
			var cpu time.Duration // of the child processes: the machine may be busy
			for i := 0; b.Loop(); i++ {
				cmd := exec.Command(path, tool.args(files[i%len(files)])...)
				if out, err := cmd.CombinedOutput(); err != nil {
					b.Fatalf("%v: %s", err, out)
				}
				cpu += cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
				pages += pagesPerFile
			}
			b.ReportMetric(float64(pages)/b.Elapsed().Seconds(), "pages/s")
			b.ReportMetric(float64(cpu.Microseconds())/float64(pages), "cpu-µs/page")
		})
	}
}
