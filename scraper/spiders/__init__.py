"""The spiders of the filmnight Scrapy project."""
