"""Progressive sharpening and the edge of stability: full-batch GD raises the sharpness to 2/η and holds it there."""
