"""On-premise recognition of faces, licence plates and e-bikes on camera streams."""
