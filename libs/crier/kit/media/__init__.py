"""Media infrastructure shared by the gateway (which stores and serves media) and the publisher
(which reads it to upload to platforms, or hands platforms a signed URL to pull it from): the
byte store, signed URLs, and inspection of what a file really is."""
