"""The sample catalog that `manage.py seed_products` loads (product "1" as in the original demo)."""

# (id, name, category, description, price in cents, stock)
SAMPLE_PRODUCTS = [
    ("1", "Smartphone X", "electronics", "6.1-inch OLED phone with 128 GB storage.", 19999, 42),
    ("2", "Wireless Headphones", "electronics", "Noise-cancelling over-ear headphones.", 8999, 75),
    ("3", "4K Monitor", "electronics", "27-inch IPS monitor, USB-C power delivery.", 32900, 18),
    ("4", "Mechanical Keyboard", "electronics", "Tenkeyless, hot-swappable switches.", 12950, 30),
    ("5", "Espresso Maker", "home", "15-bar pump espresso machine with steam wand.", 24999, 12),
    ("6", "Chef's Knife", "home", "8-inch high-carbon stainless steel knife.", 5900, 60),
    ("7", "Linen Duvet Cover", "home", "Stonewashed linen, queen size.", 14000, 25),
    ("8", "Cast Iron Skillet", "home", "Pre-seasoned 12-inch skillet.", 3495, 80),
    ("9", "The Pragmatic Programmer", "books", "20th anniversary edition.", 4299, 100),
    ("10", "Designing Data-Intensive Applications", "books", "Reliable, scalable systems.", 5499, 64),
    ("11", "Clean Architecture", "books", "A craftsman's guide to software structure.", 3699, 40),
    ("12", "Refactoring", "books", "Improving the design of existing code, 2nd edition.", 4799, 35),
    ("13", "Trail Running Shoes", "sports", "Lightweight shoes with a grippy outsole.", 12999, 22),
    ("14", "Yoga Mat", "sports", "6 mm non-slip mat with carry strap.", 2999, 90),
    ("15", "Adjustable Dumbbells", "sports", "Pair, 2.5 to 24 kg each.", 34900, 8),
]
