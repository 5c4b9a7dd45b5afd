// Package form turns a plugin's JSON Schema into an HTML form and the
// submitted form back into a JSON document, so that a third-party plugin
// gets create, edit, config and action forms for free.
//
// It is its own package because it is a self-contained engine (schema in,
// fields and templ components out, no HTTP) that the portal's pages share:
// the service forms, the connection forms, the action forms and the
// invoke form all draw Fields, and the spec view shares its decoding and
// its schema cache.
//
// The round trip:
//
//	fields := form.Build(props, form.Decode(spec), nil) // draw a document
//	doc, errs := form.Parse(props, r.PostForm)          // read what came back
//	fields = form.Build(props, doc, errs)               // redraw, errors at their fields
//	rest := form.PlaceErrors(fields, pluginErr)         // place a plugin's violations
//
// and the components Fields, SpecFields and ChoiceLists draw them.
//
// Widgets follow the schema: strings, numbers, booleans and enums become
// inputs; maps of strings name/value rows; lists of strings a textarea of
// lines; closed objects (additionalProperties false) groups of sub-fields
// and lists of them repeatable rows, a few levels deep; anything else a
// JSON textarea, so nothing is ever lost. Inputs are named "f." + the
// value's JSON pointer (without its leading "/"), which is also how errors
// are keyed and placed.
package form

// templ walks web/ and the packages below it; generating from web/ keeps
// the file names in the generated error messages the same whichever
// package's go:generate runs.
//go:generate go tool templ generate -include-version=false -path ..
