"""One benchmark a module (or a package, where importer and scorer would not fit in one): each reads its layout
as trajectories and scores a step the way its published evaluator does; ``files`` holds what the importers share."""
