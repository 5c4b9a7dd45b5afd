package main

import (
	"bytes"
	"encoding/json"
	"errors"

	"github.com/buger/jsonparser"
)

// rawObject is a JSON object kept as its members' bytes, in order. The
// plugin edits the engine's own spec through it, so that every member it
// does not model (and any the engine adds in a later version) goes back
// to the engine byte for byte.
type rawObject struct {
	members []rawMember
}

type rawMember struct {
	key    string // unescaped, for lookups
	rawKey []byte // as written between the quotes
	val    []byte
}

var errNotObject = errors.New("not a JSON object")

// parseObject splits an object into its members; null or nothing is an
// empty object. The member values keep the input's bytes (no copy).
func parseObject(b []byte) (*rawObject, error) {
	o := &rawObject{}
	v := parseValue(b)
	switch {
	case len(bytes.TrimSpace(b)) == 0 || v.t == jsonparser.Null:
		return o, nil
	case v.t != jsonparser.Object:
		return nil, errNotObject
	}
	buf, i := v.b, 1
	if j := skipSpace(buf, i); j < len(buf) && buf[j] == '}' {
		return o, nil
	}
	for {
		i = skipSpace(buf, i)
		if i >= len(buf) || buf[i] != '"' {
			return nil, errJSONSyntax
		}
		end := stringEnd(buf, i+1)
		if end < 0 {
			return nil, errJSONSyntax
		}
		m := rawMember{rawKey: buf[i+1 : end], key: string(buf[i+1 : end])}
		if bytes.IndexByte(m.rawKey, '\\') >= 0 {
			k, err := jsonparser.ParseString(m.rawKey)
			if err != nil {
				return nil, err
			}
			m.key = k
		}
		i = skipSpace(buf, end+1)
		if i >= len(buf) || buf[i] != ':' {
			return nil, errJSONSyntax
		}
		i = skipSpace(buf, i+1)
		val, next, err := valueAt(buf, i)
		if err != nil {
			return nil, err
		}
		if val.t == jsonparser.String {
			m.val = buf[i:next] // with its quotes
		} else {
			m.val = val.b
		}
		o.members = append(o.members, m)
		i = skipSpace(buf, next)
		switch {
		case i < len(buf) && buf[i] == ',':
			i++
		case i < len(buf) && buf[i] == '}':
			return o, nil
		default:
			return nil, errJSONSyntax
		}
	}
}

func (o *rawObject) index(key string) int {
	for i := range o.members {
		if o.members[i].key == key {
			return i
		}
	}
	return -1
}

// get returns a member's value (nil when absent).
func (o *rawObject) get(key string) []byte {
	if i := o.index(key); i >= 0 {
		return o.members[i].val
	}
	return nil
}

// set replaces a member's value in place, or appends the member.
func (o *rawObject) set(key string, val []byte) {
	if i := o.index(key); i >= 0 {
		o.members[i].val = val
		return
	}
	o.members = append(o.members, rawMember{key: key, rawKey: []byte(key), val: val}) // keys set are plain ASCII names
}

// remove drops a member if present.
func (o *rawObject) remove(key string) {
	if i := o.index(key); i >= 0 {
		o.members = append(o.members[:i], o.members[i+1:]...)
	}
}

// appendTo writes the object.
func (o *rawObject) appendTo(b []byte) []byte {
	b = append(b, '{')
	for i, m := range o.members {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '"')
		b = append(b, m.rawKey...)
		b = append(b, '"', ':')
		b = append(b, m.val...)
	}
	return append(b, '}')
}

// setPath sets the member at path (a chain of object members), making the
// objects on the way when they are missing; a nil val removes the member.
func (o *rawObject) setPath(path []string, val []byte) error {
	if len(path) == 1 {
		if val == nil {
			o.remove(path[0])
		} else {
			o.set(path[0], val)
		}
		return nil
	}
	cur := o.get(path[0])
	if cur == nil && val == nil {
		return nil // nothing to remove
	}
	child, err := parseObject(cur)
	if err != nil {
		return err
	}
	if err := child.setPath(path[1:], val); err != nil {
		return err
	}
	o.set(path[0], child.appendTo(nil))
	return nil
}

// getPath returns the value at path, nil when a member on the way is absent.
func (o *rawObject) getPath(path []string) ([]byte, error) {
	cur := o
	for i, k := range path {
		v := cur.get(k)
		if v == nil || i == len(path)-1 {
			return v, nil
		}
		next, err := parseObject(v)
		if err != nil {
			return nil, err
		}
		cur = next
	}
	return nil, nil
}

// jsonOf encodes a value of the engine's types with encoding/json, whose
// omitempty rules are the engine's own.
func jsonOf(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // the engine's types always encode
	}
	return b
}
