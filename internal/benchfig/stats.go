package benchfig

import (
	"math"
	"sort"
)

// Summary describes repeated measurements of one quantity.
type Summary struct {
	N                int
	Median, Min, Max float64
	P25, P75         float64
}

// Summarize sorts a copy of xs and returns its median, quartiles and range.
func Summarize(xs []float64) Summary {
	if len(xs) == 0 {
		return Summary{Median: math.NaN(), Min: math.NaN(), Max: math.NaN(), P25: math.NaN(), P75: math.NaN()}
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	return Summary{N: len(s), Median: Quantile(s, 0.5), Min: s[0], Max: s[len(s)-1], P25: Quantile(s, 0.25), P75: Quantile(s, 0.75)}
}

// Quantile returns the q-quantile of sorted xs, interpolating linearly.
func Quantile(sorted []float64, q float64) float64 {
	if len(sorted) == 0 {
		return math.NaN()
	}
	pos := q * float64(len(sorted)-1)
	lo := int(math.Floor(pos))
	hi := int(math.Ceil(pos))
	if lo == hi {
		return sorted[lo]
	}
	return sorted[lo] + (sorted[hi]-sorted[lo])*(pos-float64(lo))
}
