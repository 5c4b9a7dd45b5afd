package form

import "github.com/wharfhq/wharf/pluginapi"

// ChoiceList is the suggestions of one field (a <datalist>, drawn by
// ChoiceLists), shared by every input of that field (each row of a list).
type ChoiceList struct {
	ID      string
	Choices []pluginapi.Choice
}

// EachChoice calls visit with each field annotated "x-choices" (ABI 1.3),
// at any depth, and its field pattern: the JSON pointer with "*" for a
// row's index ("/secrets/*/name"), as the plugin's choices operation takes
// it. visit may set the field's List.
func EachChoice(fields []Field, visit func(f *Field, pattern string)) {
	eachChoice(fields, "", visit)
}

func eachChoice(fields []Field, prefix string, visit func(f *Field, pattern string)) {
	for i := range fields {
		f := &fields[i]
		pattern := prefix + "/" + escapeToken(f.Name)
		if f.Choices {
			visit(f, pattern)
		}
		eachChoice(f.Children, pattern, visit)
		for j := range f.Rows {
			eachChoice(f.Rows[j].Fields, pattern+"/*", visit)
		}
	}
}
