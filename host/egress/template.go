package egress

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"
)

// tokenRE is what a config value may be to fill a placeholder of an
// endpoint default: one DNS label. It cannot hold ".", "/", "@", ":", "%",
// "?" or "#", so it cannot move a URL to another host, port or user.
var tokenRE = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$`)

// placeholderRE finds "{name}" in an endpoint default.
var placeholderRE = regexp.MustCompile(`\{([^{}]*)\}`)

// Placeholders lists the config properties an endpoint default template
// names, in order, or says why the template is malformed: every "{" must
// open a "{name}" of a plain property name, and the template with each
// placeholder filled by "x" must be an absolute http(s) URL with a host and
// nothing else before the path (no user info).
func Placeholders(template string) ([]string, error) {
	var names []string
	for _, m := range placeholderRE.FindAllStringSubmatch(template, -1) {
		if !propertyRE.MatchString(m[1]) {
			return nil, fmt.Errorf("placeholder {%s} is not a config property name", m[1])
		}
		names = append(names, m[1])
	}
	rest := placeholderRE.ReplaceAllString(template, "x")
	if strings.ContainsAny(rest, "{}") {
		return nil, fmt.Errorf("unbalanced braces")
	}
	if err := checkBaseURL(rest); err != nil {
		return nil, err
	}
	return names, nil
}

var propertyRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]{0,63}$`)

func checkBaseURL(s string) error {
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return fmt.Errorf("not a URL")
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Errorf("must be an http:// or https:// URL")
	case u.Host == "" || u.Hostname() == "":
		return fmt.Errorf("has no host")
	case u.User != nil:
		return fmt.Errorf("must not carry user info")
	}
	return nil
}

// ExpandEndpoint fills each "{name}" of template with the config value
// name, which must be a string (or a whole number) of one DNS label
// (letters, digits, inner dashes, up to 63). values must not hold secrets:
// the result is shown to every viewer. The error names the property.
func ExpandEndpoint(template string, values map[string]any) (string, error) {
	names, err := Placeholders(template)
	if err != nil {
		return "", fmt.Errorf("endpoint default %q: %v", template, err)
	}
	filled := map[string]string{}
	for _, n := range names {
		var s string
		switch v := values[n].(type) {
		case string:
			s = v
		case float64:
			if v != float64(int64(v)) || v < 0 {
				return "", fmt.Errorf("%s must be a whole number or a DNS label to fill the endpoint default", n)
			}
			s = fmt.Sprint(int64(v))
		case nil:
			return "", fmt.Errorf("%s is needed to fill the endpoint default %s", n, template)
		default:
			return "", fmt.Errorf("%s must be a string to fill the endpoint default", n)
		}
		if !tokenRE.MatchString(s) {
			return "", fmt.Errorf("%s must be one DNS label (letters, digits and inner dashes, at most 63) to fill the endpoint default %s", n, template)
		}
		filled[n] = s
	}
	out := placeholderRE.ReplaceAllStringFunc(template, func(m string) string { return filled[m[1:len(m)-1]] })
	if err := checkBaseURL(out); err != nil {
		return "", fmt.Errorf("endpoint default %q: %v", template, err)
	}
	return out, nil
}
