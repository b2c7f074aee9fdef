"""What operations do to incidents, shared by the CLI, the API and the staff page."""

from customer_store.store import CustomerStore
from incidents.followups import SingleScheduler, schedule_restored
from incidents.store import Incident, IncidentStore
from storage.database import Database


def resolve_incident(database_path: Database, incident_id: int, scheduler: SingleScheduler) -> tuple[Incident, list[str]]:
    """Mark the incident resolved, then schedule the "service restored" follow-ups.

    Recipients: every customer who was told about it, and every customer in an affected region
    who opted in to service notices. Returns the incident and the customers scheduled.
    """
    incidents = IncidentStore(database_path)
    customers = CustomerStore(database_path)
    incident = incidents.resolve(incident_id)
    told = [contact["customer_id"] for contact in incidents.contacts(incident_id)]
    subscribed = [
        profile["id"] for profile in customers.customers_with_consent("service_notices") if incident.affects(profile.get("region"))
    ]
    return incident, schedule_restored(incident, told, subscribed, customers, scheduler)
