package mergepatch

import "slices"

// The functions below walk JSON already known to be valid: they trust it
// and never check syntax.

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// stringEnd returns the index after the string whose opening quote is at i.
// (A plain loop: spec strings are short, and bytes.IndexAny's setup costs
// more than it saves on them.)
func stringEnd(b []byte, i int) int {
	for i++; ; i++ {
		switch b[i] {
		case '"':
			return i + 1
		case '\\':
			i++ // skip the escaped byte
		}
	}
}

// valueEnd returns the index after the value starting at i.
func valueEnd(b []byte, i int) int {
	switch b[i] {
	case '"':
		return stringEnd(b, i)
	case '{', '[':
		depth := 0
		for ; i < len(b); i++ {
			switch b[i] {
			case '"':
				i = stringEnd(b, i) - 1
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return i + 1
				}
			}
		}
		return i
	}
	for i < len(b) {
		switch b[i] {
		case ',', ']', '}', ' ', '\t', '\n', '\r':
			return i
		}
		i++
	}
	return i
}

// objects records where each object of a document starts and ends, so that
// skipping an object nested in others costs a lookup rather than a scan per
// level above it.
type objects struct{ starts, ends []int32 }

// indexObjects indexes every object of b (arrays are skipped whole by
// valueEnd, so are not indexed).
func indexObjects(b []byte) objects {
	var o objects
	var stack []int // index into o.ends of each open object, -1 for arrays
	for i := 0; i < len(b); i++ {
		switch b[i] {
		case '"':
			i = stringEnd(b, i) - 1
		case '{':
			stack = append(stack, len(o.starts))
			o.starts = append(o.starts, int32(i))
			o.ends = append(o.ends, 0)
		case '[':
			stack = append(stack, -1)
		case '}', ']':
			if k := stack[len(stack)-1]; k >= 0 {
				o.ends[k] = int32(i + 1)
			}
			stack = stack[:len(stack)-1]
		}
	}
	return o
}

// end returns the end of the object starting at i.
func (o objects) end(i int) int {
	k, _ := slices.BinarySearch(o.starts, int32(i))
	return int(o.ends[k])
}

// objectIter walks the members of an object; i starts after its '{'.
type objectIter struct {
	b []byte
	i int
}

// next returns the next member's key (with its quotes) and the index of its
// value; the caller sets it.i to the value's end before calling again. At
// the object's end, ok is false and it.i is past the '}'.
func (it *objectIter) next() (key []byte, val int, ok bool) {
	i := skipSpace(it.b, it.i)
	if it.b[i] == ',' {
		i = skipSpace(it.b, i+1)
	}
	if it.b[i] == '}' {
		it.i = i + 1
		return nil, 0, false
	}
	end := stringEnd(it.b, i)
	key = it.b[i:end]
	i = skipSpace(it.b, end) // at the ':'
	return key, skipSpace(it.b, i+1), true
}
