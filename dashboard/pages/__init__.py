"""One module per route; Dash's page registry builds the navigation from them."""
