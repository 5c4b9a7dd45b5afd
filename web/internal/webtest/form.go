package webtest

import (
	"net/url"
	"strings"

	"golang.org/x/net/html"
)

// FormValues returns what a browser would submit for the form whose action
// is action: inputs (checked boxes only), selects (the selected option) and
// textareas. Submit buttons are left out.
func FormValues(body, action string) url.Values {
	doc, err := html.Parse(strings.NewReader(body))
	if err != nil {
		return nil
	}
	attr := func(n *html.Node, k string) (string, bool) {
		for _, a := range n.Attr {
			if a.Key == k {
				return a.Val, true
			}
		}
		return "", false
	}
	var form *html.Node
	var find func(*html.Node)
	find = func(n *html.Node) {
		if form != nil {
			return
		}
		if n.Type == html.ElementNode && n.Data == "form" {
			if a, _ := attr(n, "action"); a == action {
				form = n
				return
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			find(c)
		}
	}
	find(doc)
	if form == nil {
		return nil
	}
	v := url.Values{}
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			name, _ := attr(n, "name")
			switch n.Data {
			case "input":
				typ, _ := attr(n, "type")
				val, _ := attr(n, "value")
				switch typ {
				case "submit", "button":
				case "checkbox", "radio":
					if _, on := attr(n, "checked"); on && name != "" {
						v.Add(name, val)
					}
				default:
					if name != "" {
						v.Add(name, val)
					}
				}
			case "textarea":
				if name != "" {
					var b strings.Builder
					for c := n.FirstChild; c != nil; c = c.NextSibling {
						b.WriteString(c.Data)
					}
					v.Add(name, b.String())
				}
			case "select":
				if name != "" {
					first, chosen := "", ""
					found, haveFirst := false, false
					var opts func(*html.Node)
					opts = func(o *html.Node) {
						if o.Type == html.ElementNode && o.Data == "option" {
							val, _ := attr(o, "value")
							if !haveFirst {
								first, haveFirst = val, true
							}
							if _, sel := attr(o, "selected"); sel && !found {
								chosen, found = val, true
							}
						}
						for c := o.FirstChild; c != nil; c = c.NextSibling {
							opts(c)
						}
					}
					opts(n)
					if !found {
						chosen = first
					}
					v.Add(name, chosen)
				}
				return
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(form)
	return v
}
