"""Pieces of the MJPEG camera: options, the media library, frame composition, framing."""
