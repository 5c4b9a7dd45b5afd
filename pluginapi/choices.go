package pluginapi

// Choices (ABI 1.3): a plugin may list the values a spec field can take on
// its platform — the secrets and configs of a swarm, the subnets of a
// VPC — so that a form can offer them. The field is a property of the spec
// schema annotated KeyChoices; the host calls "choices" only for such a
// field and only on a plugin listing OpChoices in its operations.

// OpChoices (ABI 1.3) is the optional operation listing a spec field's
// possible values.
const OpChoices = "choices"

// KeyChoices (ABI 1.3) is the spec schema annotation "x-choices": true on a
// property whose possible values the plugin lists with OpChoices. Only
// string properties make sense; the value stays free to type (the list is
// a suggestion: an existing secret may not be visible to the plugin, or be
// created later).
const KeyChoices = "x-choices"

// MaxChoices is the most choices one answer may carry. The host cuts a
// longer answer to it and sets More.
const MaxChoices = 500

// ChoicesRequest asks for the possible values of one spec field.
type ChoicesRequest struct {
	Request
	// Field is the property's JSON pointer in a spec with "*" standing for
	// any array index (or map key): "/secrets/*/name". The host sends only
	// fields whose schema property is annotated KeyChoices.
	Field string `json:"field"`
	// Prefix, when set, keeps only values that start with it (case
	// sensitive), to narrow a listing that had More.
	Prefix string `json:"prefix,omitempty"`
	// Limit is the most choices wanted, 1 to MaxChoices; 0 means
	// MaxChoices. A plugin that has more answers the first Limit ones
	// (in a stable order, such as by value) with More.
	Limit int `json:"limit,omitempty"`
}

// ChoicesResponse lists a field's possible values.
type ChoicesResponse struct {
	Response
	Choices []Choice `json:"choices"`
	// More says there were more values than Limit: narrow with Prefix.
	More bool `json:"more,omitempty"`
}

// Choice is one possible value of a field.
type Choice struct {
	// Value is what goes into the spec.
	Value string `json:"value"`
	// Label is a human description, such as "db-password (secret,
	// created 2026-11-23)"; the value itself when empty.
	Label string `json:"label,omitempty"`
}
