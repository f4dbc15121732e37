"""The customer's landing pages and the published detail page, as a browser sees them."""
