"""Pieces of the simulated paging speaker zone: RTP, G.711 and the listening analysis."""
