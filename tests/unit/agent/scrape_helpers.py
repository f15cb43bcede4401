"""Scraping an exporter built on the fixture tree, and looking up samples."""

from prometheus_client.parser import text_string_to_metric_families

from nsfleet_agent.exporter import make_exporter

from fixture_tree import fixture_parent_of


def make(proc_root, state_dir, **options):
    return make_exporter(proc_root, state_dir, parent_of=fixture_parent_of, **options)


def parse(text):
    samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples.setdefault(sample.name, []).append((sample.labels, sample.value))
    return samples


def scrape(exporter):
    return parse(exporter.render().decode())


def value(samples, name, **labels):
    found = [v for found_labels, v in samples[name] if all(found_labels.get(k) == str(w) for k, w in labels.items())]
    assert len(found) == 1, (name, labels, samples.get(name))
    return found[0]
