package audit

import (
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// csvRecord is e as CSV cells, each made safe by csvCell.
func csvRecord(e *Entry) []string {
	finished := ""
	if e.FinishedAt != nil {
		finished = e.FinishedAt.Format(time.RFC3339Nano)
	}
	rec := []string{strconv.FormatInt(e.ID, 10), e.Time.Format(time.RFC3339Nano), e.Actor,
		e.ClientAddr, e.RequestID, e.Connection, e.Plugin, e.Operation, e.Target, e.Outcome,
		e.ResultTarget, e.ErrorCode, e.ErrorMessage, e.ErrorField, finished,
		strconv.FormatFloat(e.DurationMS, 'f', -1, 64), string(e.Request), e.Note, e.TargetName}
	for i, c := range rec {
		rec[i] = csvCell(c)
	}
	return rec
}

// csvCell makes one cell safe to open in a spreadsheet: invalid UTF-8 is
// replaced (the file is always valid UTF-8), and a cell a spreadsheet
// would read as a formula (starting with = + - @, or a tab or carriage
// return that some strip before looking) gets a leading apostrophe, the
// usual way to say "text". Actors, targets and error messages come from
// callers and plugins, so any of them can be hostile.
func csvCell(s string) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
