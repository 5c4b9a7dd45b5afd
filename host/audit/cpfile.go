package audit

import (
	"bufio"
	"bytes"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// cpFile is the checkpoint log open for appending; only the writer
// goroutine appends.
type cpFile struct {
	f    *os.File
	path string
	size int64 // bytes of complete lines
}

// openCheckpoints opens (creating, mode 0600) the checkpoint log at path.
// A final line without its newline is a write a crash cut short: it was
// never acknowledged, so it is cut off.
func openCheckpoints(path string) (*cpFile, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	size := st.Size()
	tail, err := readTail(f, size)
	if err != nil {
		f.Close()
		return nil, err
	}
	if len(tail) > 0 && tail[len(tail)-1] != '\n' {
		cut := size - int64(len(tail)) + int64(bytes.LastIndexByte(tail, '\n')+1)
		if err := f.Truncate(cut); err != nil {
			f.Close()
			return nil, fmt.Errorf("cut partial line: %w", err)
		}
		size = cut
	}
	return &cpFile{f: f, path: path, size: size}, nil
}

// readTail returns up to the last 2*maxCheckpointLine bytes of f.
func readTail(f *os.File, size int64) ([]byte, error) {
	n := min(size, 2*maxCheckpointLine)
	buf := make([]byte, n)
	if _, err := f.ReadAt(buf, size-n); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	return buf, nil
}

// last returns the newest checkpoint, checked against pub; ok is false
// when the log is empty.
func (c *cpFile) last(pub ed25519.PublicKey) (cp Checkpoint, ok bool, err error) {
	if c.size == 0 {
		return cp, false, nil
	}
	tail, err := readTail(c.f, c.size)
	if err != nil {
		return cp, false, err
	}
	tail = bytes.TrimSuffix(tail, []byte("\n"))
	line := tail[bytes.LastIndexByte(tail, '\n')+1:]
	cp, err = parseCheckpoint(line, pub)
	if err != nil {
		return cp, false, fmt.Errorf("checkpoint log %s: last line: %w", c.path, err)
	}
	return cp, true, nil
}

// append writes cp as one line and syncs it to disk.
func (c *cpFile) append(cp Checkpoint) error {
	b := cp.line()
	n, err := c.f.Write(b)
	if err == nil {
		err = c.f.Sync()
	}
	if err != nil {
		// Cut a partial write so the next line starts on a line of its own.
		if n > 0 {
			_ = c.f.Truncate(c.size)
		}
		return fmt.Errorf("append to checkpoint log %s: %w", c.path, err)
	}
	c.size += int64(len(b))
	return nil
}

func (c *cpFile) close() error { return c.f.Close() }

// cpReader reads a checkpoint log line by line, each line checked with
// parseCheckpoint, and the sequence checked as a whole: the row counts
// never go down, and every line agrees on KeyedFrom and the chain key.
type cpReader struct {
	br   *bufio.Reader
	pub  ed25519.PublicKey
	line int // lines read
	prev *Checkpoint
}

func newCPReader(r io.Reader, pub ed25519.PublicKey) *cpReader {
	return &cpReader{br: bufio.NewReaderSize(r, 2*maxCheckpointLine), pub: pub}
}

// errCPEnd ends a cpReader.
var errCPEnd = errors.New("end of checkpoints")

// partialLine reports a last line without a newline (a crash mid-append,
// or a file cut short).
type partialLine struct{ line int }

func (e partialLine) Error() string {
	return fmt.Sprintf("line %d is incomplete (no newline): a crash while appending (the host cuts such a line when it starts again), or the file was cut or edited", e.line)
}

// next returns the next checkpoint, errCPEnd after the last one, or an
// error describing the bad line.
func (r *cpReader) next() (Checkpoint, error) {
	b, err := r.br.ReadSlice('\n')
	switch {
	case errors.Is(err, bufio.ErrBufferFull):
		r.line++
		return Checkpoint{}, fmt.Errorf("line %d is longer than %d bytes", r.line, maxCheckpointLine)
	case errors.Is(err, io.EOF) && len(b) == 0:
		return Checkpoint{}, errCPEnd
	case errors.Is(err, io.EOF):
		r.line++
		return Checkpoint{}, partialLine{r.line}
	case err != nil:
		return Checkpoint{}, err
	}
	r.line++
	if len(b) > maxCheckpointLine {
		return Checkpoint{}, fmt.Errorf("line %d is longer than %d bytes", r.line, maxCheckpointLine)
	}
	cp, err := parseCheckpoint(b[:len(b)-1], r.pub)
	if err != nil {
		return cp, fmt.Errorf("line %d: %w", r.line, err)
	}
	if p := r.prev; p != nil {
		switch {
		case cp.KeyedFrom != p.KeyedFrom || cp.ChainKey != p.ChainKey:
			return cp, fmt.Errorf("line %d: keyed_from %d / chain key %s differ from the line before (%d / %s)",
				r.line, cp.KeyedFrom, cp.ChainKey, p.KeyedFrom, p.ChainKey)
		case cp.Rows < p.Rows:
			return cp, fmt.Errorf("line %d: the log went back from %d rows to %d: rows were removed before line %d was written",
				r.line, p.Rows, cp.Rows, r.line)
		case cp.Rows == p.Rows && cp.Hash != p.Hash:
			return cp, fmt.Errorf("line %d: row %d has hash %s here but %s on the line before: the chain was rewritten",
				r.line, cp.Rows, cp.Hash, p.Hash)
		}
	}
	r.prev = &cp
	return cp, nil
}

// cpStream is a sequence of checked checkpoints in rising row order.
type cpStream interface {
	next() (Checkpoint, error)
}

// cpMerge reads several replicas' checkpoint logs of one chain as one
// stream: each is read and checked on its own (a cpReader, with its own
// key), and the next checkpoint is the one of fewest rows among their
// heads. Every log must agree on where keyed rows start and on the chain
// key.
type cpMerge struct {
	logs  []*cpReader
	names []string
	heads []*Checkpoint // the next checkpoint of each log; nil: not read yet
	ended []bool
	first *Checkpoint
}

func newCPMerge(o VerifyOptions) *cpMerge {
	m := &cpMerge{}
	add := func(name string, r io.Reader, pub ed25519.PublicKey) {
		if pub == nil {
			pub = o.PublicKey
		}
		m.logs = append(m.logs, newCPReader(r, pub))
		m.names = append(m.names, name)
	}
	if o.Checkpoints != nil {
		add("the checkpoint log", o.Checkpoints, nil)
	}
	for i, l := range o.More {
		name := l.Name
		if name == "" {
			name = fmt.Sprintf("checkpoint log %d", i+1)
		}
		add(name, l.Log, l.PublicKey)
	}
	m.heads = make([]*Checkpoint, len(m.logs))
	m.ended = make([]bool, len(m.logs))
	return m
}

func (m *cpMerge) next() (Checkpoint, error) {
	best := -1
	for i, r := range m.logs {
		if m.heads[i] == nil && !m.ended[i] {
			cp, err := r.next()
			switch {
			case errors.Is(err, errCPEnd):
				m.ended[i] = true
				continue
			case err != nil:
				return cp, fmt.Errorf("%s: %w", m.names[i], err)
			}
			if f := m.first; f != nil && (cp.KeyedFrom != f.KeyedFrom || cp.ChainKey != f.ChainKey) {
				return cp, fmt.Errorf("%s: keyed_from %d / chain key %s differ from the other logs' (%d / %s): not a log of the same chain",
					m.names[i], cp.KeyedFrom, cp.ChainKey, f.KeyedFrom, f.ChainKey)
			}
			if m.first == nil {
				m.first = &cp
			}
			m.heads[i] = &cp
		}
		if h := m.heads[i]; h != nil && (best < 0 || h.Rows < m.heads[best].Rows) {
			best = i
		}
	}
	if best < 0 {
		return Checkpoint{}, errCPEnd
	}
	cp := *m.heads[best]
	m.heads[best] = nil
	return cp, nil
}
