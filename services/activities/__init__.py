"""The activities service: social-work + volunteer projects, activities with sign-up,
capacity, waiting list and check-in, training sessions and commendations."""
