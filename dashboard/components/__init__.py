"""Small layout and figure factories shared by the dashboard's pages."""
