"""Where the group can watch a film: members' streaming services and each film's offers.

- ``offers``: a film's offers per region (TMDb's watch providers, JustWatch data), pure;
- ``availability``: which of the group's services stream a film, and for how many (pure);
- ``directory``: the provider's regions and services, cached;
- ``service``: members' choices (kept with the session) and the group's availability;
- ``controllers``: the HTTP calls.
"""
