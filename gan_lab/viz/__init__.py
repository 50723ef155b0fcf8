"""Pictures of what a system makes: sample grids and 2D scatter plots, progress and latent-walk videos."""
