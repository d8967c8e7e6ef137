"""Keep a residential community's residents, vehicles and visitor passes."""
