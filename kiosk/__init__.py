"""The ticket kiosk (取号机): categories, priority classes, appointment check-in, printing."""
