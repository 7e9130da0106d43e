// Package anthropic stands in for the SDK.
package anthropic

// Client is a model client.
type Client struct{}
