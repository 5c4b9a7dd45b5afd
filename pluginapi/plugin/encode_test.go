package plugin_test

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/pluginapi"
	"github.com/wharfhq/wharf/pluginapi/plugin"
)

// The answers EncodeAnswer writes by hand. A field added to any of these
// types (or to the types they hold) is filled by the filler below, so an
// encoder that forgets it fails TestEncodeAnswerEqualsEncodingJSON.
var handAnswers = []any{&pluginapi.ServiceResponse{}, &pluginapi.ListResponse{}, &pluginapi.LogsResponse{},
	&pluginapi.InstancesResponse{}, &pluginapi.DeploymentsResponse{}}

// trickyStrings: escapes, HTML, unicode, line separators, control
// characters, invalid UTF-8, empty.
var trickyStrings = []string{"", "plain", `a "quoted" \ value`, "line\nbreak\r\ttab\b\f", "<script>&amp;</script>",
	"é ü 日本 😀", "\u2028\u2029", "\x00\x01\x1f\x7f", "bad \xff utf8 \xc3", "trailing \\", "=,%2C+", "\ufffd", "\xed\xa0\x80"}

var bigInts = []int64{0, 1, -1, math.MaxInt64, math.MinInt64, math.MaxInt32 + 1, math.MinInt32 - 1, 1 << 53, 1<<53 + 1}

var zones = []*time.Location{time.UTC, time.FixedZone("IST", 5*3600+1800), time.FixedZone("PST", -8*3600),
	time.FixedZone("X", 14*3600), time.FixedZone("Y", -(12*3600 + 45*60))}

// filler sets every exported field of a value to random values: nil or
// empty or full slices and maps, nil or set pointers, nested structs.
type filler struct {
	r *rand.Rand
	// full sets every pointer and gives every slice and map members.
	full bool
	// seen counts, by field path, the values filled non-zero.
	seen map[string]int
}

func (f *filler) str() string {
	if f.r.IntN(3) == 0 {
		return trickyStrings[f.r.IntN(len(trickyStrings))]
	}
	alphabet := []rune("abcXYZ019 -_:/\"\\<>&\n\t\u00e9\u2028\u2029😀\x00\x7f\u0600\ufeff")
	out := make([]rune, f.r.IntN(16))
	for i := range out {
		out[i] = alphabet[f.r.IntN(len(alphabet))]
	}
	s := string(out)
	if f.r.IntN(12) == 0 {
		s += "\xff"
	}
	return s
}

func (f *filler) time() time.Time {
	// years 1 to 9999, the range encoding/json accepts
	lo, hi := time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC).Unix(), time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC).Unix()
	t := time.Unix(lo+f.r.Int64N(hi-lo), 0)
	switch f.r.IntN(3) {
	case 0:
		t = t.Add(time.Duration(f.r.IntN(1e9)))
	case 1:
		t = t.Add(time.Duration(f.r.IntN(1000)) * time.Millisecond)
	}
	return t.In(zones[f.r.IntN(len(zones))])
}

// raw is compact JSON as encoding/json writes it (what it would leave
// unchanged in a RawMessage): a random nested value.
func (f *filler) raw(depth int) any {
	switch n := f.r.IntN(7); {
	case n == 0 || depth > 3:
		return f.str()
	case n == 1:
		return float64(bigInts[f.r.IntN(len(bigInts))])
	case n == 2:
		return f.r.IntN(2) == 0
	case n == 3:
		return nil
	case n == 4:
		list := make([]any, f.r.IntN(4))
		for i := range list {
			list[i] = f.raw(depth + 1)
		}
		return list
	default:
		m := map[string]any{}
		for range f.r.IntN(4) {
			m[f.str()] = f.raw(depth + 1)
		}
		return m
	}
}

var (
	timeType = reflect.TypeFor[time.Time]()
	rawType  = reflect.TypeFor[json.RawMessage]()
	errType  = reflect.TypeFor[*pluginapi.Error]()
)

func (f *filler) fill(v reflect.Value, path string) {
	switch t := v.Type(); {
	case t == errType:
		return // answers with an error are left to encoding/json
	case t == timeType:
		v.Set(reflect.ValueOf(f.time()))
	case t == rawType:
		switch f.r.IntN(4) {
		case 0:
			if !f.full {
				return
			}
			fallthrough
		default:
			b, err := json.Marshal(f.raw(0))
			if err != nil {
				panic(err)
			}
			v.SetBytes(b)
		case 1:
			if !f.full {
				v.SetBytes([]byte{})
			}
		}
	default:
		switch t.Kind() {
		case reflect.String:
			v.SetString(f.str())
		case reflect.Bool:
			v.SetBool(f.r.IntN(2) == 0)
		case reflect.Int, reflect.Int64:
			n := bigInts[f.r.IntN(len(bigInts))]
			if f.r.IntN(2) == 0 {
				n = f.r.Int64N(100000) - 50000
			}
			v.SetInt(n)
		case reflect.Pointer:
			if !f.full && f.r.IntN(3) == 0 {
				return
			}
			p := reflect.New(t.Elem())
			f.fill(p.Elem(), path)
			v.Set(p)
		case reflect.Slice:
			n := f.r.IntN(4)
			switch {
			case f.full:
				n++
			case n == 0:
				return // nil
			}
			s := reflect.MakeSlice(t, n-1+btoi(f.full), n-1+btoi(f.full))
			for i := range s.Len() {
				f.fill(s.Index(i), path+"[]")
			}
			v.Set(s)
		case reflect.Map:
			n := f.r.IntN(4)
			if !f.full && n == 0 {
				return // nil
			}
			m := reflect.MakeMap(t)
			if f.full {
				n++
			}
			for range n - 1 + btoi(f.full) {
				k, e := reflect.New(t.Key()).Elem(), reflect.New(t.Elem()).Elem()
				f.fill(k, path+"{key}")
				f.fill(e, path+"{}")
				m.SetMapIndex(k, e)
			}
			v.Set(m)
		case reflect.Struct:
			for i := range t.NumField() {
				if t.Field(i).IsExported() {
					f.fill(v.Field(i), path+"."+t.Field(i).Name)
				}
			}
		default:
			panic("the filler does not know " + t.String() + " at " + path + ": teach it, and the encoder")
		}
	}
	if !v.IsZero() {
		f.seen[path]++
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// fields lists the paths of every exported leaf field of t, as fill names them.
func fields(t reflect.Type, path string, out map[string]bool) {
	switch {
	case t == errType:
		return
	case t == timeType || t == rawType:
	case t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice && t != rawType:
		suffix := ""
		if t.Kind() == reflect.Slice {
			suffix = "[]"
		}
		fields(t.Elem(), path+suffix, out)
	case t.Kind() == reflect.Map:
		fields(t.Key(), path+"{key}", out)
		fields(t.Elem(), path+"{}", out)
	case t.Kind() == reflect.Struct:
		for i := range t.NumField() {
			if t.Field(i).IsExported() {
				fields(t.Field(i).Type, path+"."+t.Field(i).Name, out)
			}
		}
		return
	}
	out[path] = true
}

// TestEncodeAnswerEqualsEncodingJSON: for every answer type the SDK
// encodes by hand, over thousands of values filled by reflection (every
// exported field, nested, nil and empty and full, tricky strings, big
// numbers, times in many zones), EncodeAnswer writes exactly the bytes
// json.Marshal writes; and every leaf field was filled non-zero many
// times, so none is left out of the comparison.
func TestEncodeAnswerEqualsEncodingJSON(t *testing.T) {
	for i, proto := range handAnswers {
		typ := reflect.TypeOf(proto).Elem()
		t.Run(typ.Name(), func(t *testing.T) {
			f := &filler{r: rand.New(rand.NewPCG(uint64(i), 14)), seen: map[string]int{}}
			for n := range 3000 {
				f.full = n%4 == 0
				v := reflect.New(typ)
				f.fill(v.Elem(), typ.Name())
				want, err := json.Marshal(v.Interface())
				if err != nil {
					t.Fatal(err)
				}
				got, ok := plugin.EncodeAnswer(v.Interface())
				if !ok {
					t.Fatalf("%s not encoded", typ.Name())
				}
				if !bytes.Equal(got, want) {
					t.Fatalf("value %d differs:\nhand: %s\njson: %s", n, got, want)
				}
			}
			all := map[string]bool{}
			fields(typ, typ.Name(), all)
			for p := range all {
				if f.seen[p] < 50 {
					t.Errorf("field %s filled non-zero only %d times", p, f.seen[p])
				}
			}
			// the zero answer too
			zero := reflect.New(typ).Interface()
			want, _ := json.Marshal(zero)
			if got, _ := plugin.EncodeAnswer(zero); !bytes.Equal(got, want) {
				t.Errorf("zero answer: hand %s, json %s", got, want)
			}
		})
	}
}

// Raw members are embedded as the provider set them: JSON that
// encoding/json would compact and re-escape decodes to the same value.
func TestEncodeAnswerEmbedsRawAsIs(t *testing.T) {
	raw := json.RawMessage("{\n  \"ID\": \"a<b>\",\n  \"Spec\": {\"Name\": \"x\\u00e9\", \"N\": 1e3}\n}")
	resp := &pluginapi.ListResponse{Services: []pluginapi.Service{{ID: "a", Raw: raw, Spec: raw}}}
	got, _ := plugin.EncodeAnswer(resp)
	want, _ := json.Marshal(resp)
	if !bytes.Contains(got, raw) {
		t.Fatalf("raw not embedded as is: %s", got)
	}
	var g, w any
	if json.Unmarshal(got, &g) != nil || json.Unmarshal(want, &w) != nil || !reflect.DeepEqual(g, w) {
		t.Fatalf("hand %s\njson %s", got, want)
	}
}

// Errors, other answers and unknown values are left to encoding/json, and
// Dispatch answers with the hand encoder unless the provider has its own.
func TestEncodeAnswerLeavesTheRest(t *testing.T) {
	for _, v := range []any{&pluginapi.ServiceResponse{Response: pluginapi.Response{Error: pluginapi.NotFound("x")}},
		&pluginapi.LogsResponse{Response: pluginapi.Response{Error: pluginapi.NotFound("x")}},
		&pluginapi.DescribeResponse{}, &pluginapi.InvokeResponse{}, pluginapi.ServiceResponse{}, nil} {
		if out, ok := plugin.EncodeAnswer(v); ok {
			t.Errorf("%T encoded by hand: %s", v, out)
		}
	}
	if out := plugin.Dispatch(context.Background(), acme{}, pluginapi.OpList, []byte(`{"connection":"c"}`)); string(out) != `{"services":null}` {
		t.Fatalf("list: %s", out)
	}
	own := plugin.Dispatch(context.Background(), ownEncoder{}, pluginapi.OpList, []byte(`{"connection":"c"}`))
	if !strings.Contains(string(own), `"own":true`) {
		t.Fatalf("the provider's encoder was not used: %s", own)
	}
}

type ownEncoder struct{ acme }

func (ownEncoder) EncodeAnswer(op string, _ any) ([]byte, bool) {
	return []byte(`{"own":true}`), op == pluginapi.OpList
}
