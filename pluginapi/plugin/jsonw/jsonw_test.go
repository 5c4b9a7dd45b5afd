package jsonw

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// AppendString writes the bytes json.Marshal writes, for every single
// byte, every byte between two letters, and random unicode and invalid
// UTF-8.
func TestAppendStringMatchesEncodingJSON(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	cases := []string{"", "plain", `a "quoted" \ value`, "<script>&amp;</script>", "\u2028\u2029", "bad \xff \xc3", "\xed\xa0\x80"}
	for c := range 256 {
		cases = append(cases, string([]byte{byte(c)}), "a"+string([]byte{byte(c)})+"b", "a"+string(rune(c))+"b")
	}
	for range 5000 {
		b := make([]byte, r.IntN(24))
		for i := range b {
			b[i] = byte(r.IntN(256))
		}
		cases = append(cases, string(b), string([]rune{rune(r.IntN(0x110000)), rune(r.IntN(0x3000))}))
	}
	for _, s := range cases {
		want, _ := json.Marshal(s)
		if got := AppendString(nil, s); !bytes.Equal(got, want) {
			t.Fatalf("%q: hand %s, json %s", s, got, want)
		}
	}
}

func TestAppendFloatMatchesEncodingJSON(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	cases := []float64{0, math.Copysign(0, -1), 1, -1, 0.1, 1e-6, 1e-7, 9.999e-7, 1e20, 1e21, 1e21 - 1, 123456789.125,
		math.MaxFloat64, math.SmallestNonzeroFloat64, -math.MaxFloat64, 1 << 53, 1<<53 + 2, 5e-324, 1.5e300}
	for range 5000 {
		cases = append(cases, math.Float64frombits(r.Uint64()), r.NormFloat64()*math.Pow(10, float64(r.IntN(60)-30)))
	}
	for _, f := range cases {
		if math.IsNaN(f) || math.IsInf(f, 0) {
			continue
		}
		want, _ := json.Marshal(f)
		if got := AppendFloat(nil, f); !bytes.Equal(got, want) {
			t.Fatalf("%v: hand %s, json %s", f, got, want)
		}
	}
}

// An Object with every kind of member, keys needing escapes included,
// equals json.Marshal of the same map.
func TestObjectMatchesEncodingJSON(t *testing.T) {
	n, yes, when := 7, true, time.Date(2026, 12, 5, 13, 0, 0, 1, time.FixedZone("", 3600))
	o := Open(nil)
	o.Str("s", "v<", false)
	o.Str("omitted", "", true)
	o.Int("i", -3, false)
	o.Int64("big", math.MaxInt64, false)
	o.IntPtr("p", &n)
	o.IntPtr("nilp", nil)
	o.Float("f", 0.5, false)
	o.Bool("b", false, false)
	o.BoolPtr("bp", &yes)
	o.StrMap("m", map[string]string{"z": "1", "a": "2"}, false)
	o.StrMap("nilm", nil, false)
	o.Strs("l", []string{"x"}, false)
	o.Strs("empty", []string{}, false)
	o.StrsOmitNil("zero", []string{})
	o.StrsOmitNil("nilzero", nil)
	o.TimePtr("t", &when)
	o.Raw("r", []byte(`{"k":[1,2]}`))
	o.Object("o", func(in *Object) { in.Str("k\"ey<", "v", false) })
	List(&o, "list", []int{1, 2}, false, func(b []byte, v *int) []byte { return AppendFloat(b, float64(*v)) })
	List(&o, "nillist", []int(nil), false, func(b []byte, v *int) []byte { return b })
	List(&o, "gone", []int{}, true, func(b []byte, v *int) []byte { return b })
	got := o.Close()
	want, _ := json.Marshal(map[string]any{"s": "v<", "i": -3, "big": int64(math.MaxInt64), "p": 7, "f": 0.5, "b": false, "bp": true,
		"m": map[string]string{"z": "1", "a": "2"}, "nilm": nil, "l": []string{"x"}, "empty": []string{}, "zero": []string{}, "t": when,
		"r": json.RawMessage(`{"k":[1,2]}`), "o": map[string]string{"k\"ey<": "v"}, "list": []int{1, 2}, "nillist": nil})
	var g, w map[string]any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("%v: %s", err, got)
	}
	_ = json.Unmarshal(want, &w)
	gb, _ := json.Marshal(g)
	wb, _ := json.Marshal(w)
	if !bytes.Equal(gb, wb) {
		t.Fatalf("hand %s\njson %s", got, want)
	}
	if !bytes.Contains(got, []byte(`"k\"ey\u003c":"v"`)) {
		t.Fatalf("key not escaped: %s", got)
	}
}
