// Package anthropic stands in for the SDK.
package anthropic

// TextBlockParam is a text block.
type TextBlockParam struct {
	Text  string
	Cache bool
}

// NewTextBlock makes a text block.
func NewTextBlock(text string) TextBlockParam { return TextBlockParam{Text: text} }

// WithAPIKey is configuration, not content.
func WithAPIKey(key string) int { return len(key) }
